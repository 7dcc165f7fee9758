"""Writes one distillation batch of a policy as a PNG grid, rows marked by
kind (green: real; orange: real without a true label; red: synthetic).

  bazel run //experiments:show_policy -- --aug=combined --output=combined.png
"""

from absl import flags

from kd_tf import cli
from kd_tf.config.distill import DistillConfig
from kd_tf.config.runtime import Runtime

cli.define_flags(DistillConfig, only=("dataset", "aug", "seed", "generator", "ood_dataset", "ood_count",
                                      "noise_prob", "rotation_degrees", "batch_size"),
                 defaults={"batch_size": 64})
cli.define_flags(Runtime, only=("data_dir",))
flags.DEFINE_string("output", None, "PNG to write.")
flags.mark_flag_as_required("output")


def main():
    from kd_tf.data import sources, visualize
    from kd_tf.data.pipeline import stream
    from kd_tf.jobs import distill
    from kd_tf.config.paths import resolve_path

    config = cli.read_flags(DistillConfig, epochs=1).resolved()
    runtime = cli.read_flags(Runtime)
    dataset = sources.load(config.dataset, runtime.data_dir)
    inputs = distill.build_inputs(config, dataset, replicas=1, data_dir=runtime.data_dir)
    data, spec = inputs.data, inputs.spec
    batch = next(iter(stream(data, dataset.properties, spec).take(1)))
    image = visualize.grid(batch["image"].numpy(), visualize.row_kinds(batch, spec.real_per_replica()))
    output = resolve_path(cli.FLAGS.output)
    visualize.write_png(image, output)
    print(f"wrote {output}: {len(batch['label'])} rows of --aug={config.aug}")


if __name__ == "__main__":
    cli.run(main)
