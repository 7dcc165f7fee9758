"""Trains an SN-GAN whose generator feeds the gan distillation policy.

  bazel run //experiments:train_gan -- --dataset=mnist5k      # minutes on 2 cores
  bazel run //experiments:train_gan -- --dataset=cifar100     # the paper's recipe

Rerunning with the same --output_dir resumes from the last checkpoint.
"""

import dataclasses
import sys

from absl import app, flags

from kd_tf import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_enum("dataset", "mnist5k", choices.DATASETS, "Dataset (in-memory image datasets).")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_string("output_dir", None, "Run directory (default: runs/gan/<dataset>).")
flags.DEFINE_integer("gen_steps", None, "Generator steps (default 100,000; 2,000 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("disc_steps_per_gen_step", None, "Discriminator steps per generator step (default 5; 2 on "
                     "mnist5k).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Batch per step (default 128; 64 on mnist5k).", lower_bound=1)
flags.DEFINE_float("lr", 2e-4, "Adam learning rate, decayed linearly to --final_lr.", lower_bound=0.0)
flags.DEFINE_float("final_lr", 1e-6, "Learning rate at the last step.", lower_bound=0.0)
flags.DEFINE_integer("gen_width", None, "Generator width k (default 256; 32 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("disc_width", None, "Discriminator width (default 128; 32 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("checkpoint_every", None, "Generator steps between checkpoints, samples and logs "
                     "(default 1,000; 200 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("fid_samples", 5000, "Samples for FID and IS.", lower_bound=10)
flags.DEFINE_integer("fid_every", 0, "Also compute FID and IS every N generator steps (a multiple of "
                     "--checkpoint_every); 0: at the end only.", lower_bound=0)
flags.DEFINE_enum("fid_features", "pool", ["pool", "logits"],
                  "FID on Inception pool3 features (standard) or 1,000-way logits (the reference's).")
flags.DEFINE_string("inception_weights", None, "Keras InceptionV3 weights (.h5); without them and offline, FID "
                    "and IS are skipped with a warning.")
flags.DEFINE_integer("seed", 0, "Seed.")
flags.DEFINE_enum("strategy", "auto", choices.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", "", "TPU for --strategy=tpu.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from kd_tf.train import gan_job
    from kd_tf.train.run_dir import resolve_path

    config = gan_job.GanConfig(**{f.name: FLAGS[f.name].value for f in dataclasses.fields(gan_job.GanConfig)
                                  if f.name in FLAGS})
    output_dir = resolve_path(FLAGS.output_dir or gan_job.default_output_dir(FLAGS.dataset))
    try:
        results = gan_job.run(config, output_dir)
    except UserError as e:
        sys.exit(f"error: {e}")
    print(f"generator steps {results['generator_steps']}: d_loss {results.get('d_loss', float('nan')):.4f}  "
          f"g_loss {results.get('g_loss', float('nan')):.4f}"
          + "".join(f"  {k} {results[k]:.3f}" for k in results if k.startswith(("fid", "inception"))))
    print(f"generator: {gan_job.generator_path(output_dir)} (and SavedModel {output_dir}/generator)")
    print(f"samples: {output_dir}/samples.png")


if __name__ == "__main__":
    app.run(main)
