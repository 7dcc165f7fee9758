"""Writes one distillation batch of a policy as a PNG grid, rows marked by
kind (green: real; orange: real without a true label; red: synthetic).

  bazel run //experiments:show_policy -- --aug=combined --output=combined.png
"""

import sys

from absl import app, flags

from kd_tf import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_enum("aug", "mixup", choices.POLICIES, "Distillation policy.")
flags.DEFINE_enum("dataset", "mnist5k", choices.DATASETS, "Dataset.")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_string("output", None, "PNG to write.")
flags.DEFINE_integer("batch_size", 64, "Rows in the grid.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the stream.")
flags.DEFINE_string("generator", None, "gan: generator (.keras or SavedModel).")
flags.DEFINE_enum("ood_dataset", None, choices.OOD_DATASETS, "ood: source of unlabelled images.")
flags.DEFINE_integer("ood_count", None, "ood: images added.", lower_bound=1)
flags.DEFINE_float("noise_prob", 0.2, "noise: replacement probability.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("rotation_degrees", 20.0, "rotation: maximum angle.", lower_bound=0.0)
flags.mark_flag_as_required("output")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from kd_tf.data import sources, visualize
    from kd_tf.data.pipeline import stream
    from kd_tf.train import distill_job
    from kd_tf.train.run_dir import resolve_path

    config = distill_job.resolve(distill_job.DistillConfig(
        dataset=FLAGS.dataset, data_dir=FLAGS.data_dir, aug=FLAGS.aug, batch_size=FLAGS.batch_size, epochs=1,
        seed=FLAGS.seed, generator=FLAGS.generator, ood_dataset=FLAGS.ood_dataset, ood_count=FLAGS.ood_count,
        noise_prob=FLAGS.noise_prob, rotation_degrees=FLAGS.rotation_degrees))
    try:
        dataset = sources.load(config.dataset, config.data_dir)
        data, spec, _, _ = distill_job.build_inputs(config, dataset, replicas=1)
    except UserError as e:
        sys.exit(f"error: {e}")
    batch = next(iter(stream(data, dataset.properties, spec).take(1)))
    image = visualize.grid(batch["image"].numpy(), visualize.row_kinds(batch, spec.real_per_replica()))
    visualize.write_png(image, resolve_path(FLAGS.output))
    print(f"wrote {resolve_path(FLAGS.output)}: {len(batch['label'])} rows of --aug={FLAGS.aug}")


if __name__ == "__main__":
    app.run(main)
