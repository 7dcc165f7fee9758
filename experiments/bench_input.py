"""Prints the input pipeline's throughput (images per second) for each
policy on CIFAR-shaped data (32x32x3, batch 128).

  bazel run //experiments:bench_input
"""

from absl import flags

from kd_tf import cli
from kd_tf.config import choices

FLAGS = flags.FLAGS

flags.DEFINE_list("policies", list(choices.POLICIES), "Policies to measure.")
flags.DEFINE_integer("batches", 60, "Batches timed per policy (after 5 warm-up batches).", lower_bound=1)
flags.DEFINE_integer("examples", 10_000, "Size of the synthetic CIFAR-shaped train split.", lower_bound=128)


def main():
    import os

    from kd_tf.bench import input_throughput as benchmark

    split = benchmark.synthetic_cifar(FLAGS.examples)
    print(f"CIFAR-shaped input, batch 128, {os.cpu_count()} CPU cores")
    print(f"{'policy':<14}{'images/s':>12}")
    for policy in FLAGS.policies:
        generator = benchmark.untrained_generator() if policy == "gan" else None
        rate = benchmark.images_per_second(policy, split, batches=FLAGS.batches, generator=generator)
        note = "  (includes SN-GAN sampling on the CPU)" if policy == "gan" else ""
        print(f"{policy:<14}{rate:>12,.0f}{note}", flush=True)


if __name__ == "__main__":
    cli.run(main)
