"""Appendix Fig 8: teachers' predictive distributions on example train images
(tau 1 and 4) and test images (tau 1), by teacher depth and ensemble size.

  bazel run //experiments:teacher_distributions -- \\
      --teacher_dirs=runs/teachers/cifar100-preresnet20,runs/teachers/cifar100-preresnet56 \\
      --sizes=1,3,5 --output=runs/figures/fig8
"""

from absl import flags

from kd_tf import cli

FLAGS = flags.FLAGS

flags.DEFINE_list("teacher_dirs", None, "Teacher directories, one per depth (a row each).")
flags.DEFINE_list("sizes", ["1", "3", "5"], "Ensemble sizes m (a column each): members 0..m-1.")
flags.DEFINE_integer("examples", 3, "Train and test images to show (picked with --example_seed).", lower_bound=1)
flags.DEFINE_integer("example_seed", 0, "Seed that picks the example images.")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_string("output", None, "Writes OUTPUT.npz and OUTPUT.png.")
flags.mark_flags_as_required(["teacher_dirs", "output"])


def main():
    from kd_tf.errors import UserError
    from kd_tf.jobs import teacher_distributions

    try:
        sizes = sorted({int(m) for m in FLAGS.sizes})
    except ValueError as e:
        raise UserError(f"--sizes={','.join(FLAGS.sizes)}: give ensemble sizes as integers, e.g. 1,3,5.") from e
    npz, png = teacher_distributions.run(FLAGS.teacher_dirs, sizes, FLAGS.output, FLAGS.examples, FLAGS.example_seed,
                                         FLAGS.data_dir)
    print(f"wrote {npz} and {png}")


if __name__ == "__main__":
    cli.run(main)
