"""Trains an SN-GAN whose generator feeds the gan distillation policy.

  bazel run //experiments:train_gan -- --dataset=mnist5k      # minutes on 2 cores
  bazel run //experiments:train_gan -- --dataset=cifar100     # the paper's recipe

Rerunning with the same --output_dir resumes from the last checkpoint.
"""

from kd_tf import cli
from kd_tf.config.gan import GanConfig, generator_path
from kd_tf.config.runtime import Runtime

cli.define_binary_flags("train_gan")


def main():
    from kd_tf.jobs import gan

    results = gan.run(cli.read_flags(GanConfig), cli.read_flags(Runtime))
    output_dir = results["runtime"]["output_dir"]
    print(f"generator steps {results['generator_steps']}: d_loss {results.get('d_loss', float('nan')):.4f}  "
          f"g_loss {results.get('g_loss', float('nan')):.4f}"
          + "".join(f"  {k} {results[k]:.3f}" for k in results if k.startswith(("fid", "inception"))))
    print(f"generator: {generator_path(output_dir)} (and SavedModel {output_dir}/generator)")
    print(f"samples: {output_dir}/samples.png")
    cli.print_outputs(output_dir, tensorboard=True)


if __name__ == "__main__":
    cli.run(main)
