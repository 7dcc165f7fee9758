"""Section 6, Fig 6c: the distillation loss and the test agreement on the
plane through the teacher, the initial student and the final student of a
finished self-distillation run (e.g. --init=interpolate or teacher_init).

  bazel run //experiments:loss_plane -- --run_dir=runs/<an interpolation run> --output=runs/figures/plane
"""

from absl import flags

from kd_tf import cli

FLAGS = flags.FLAGS

flags.DEFINE_string("run_dir", None, "A finished distill run with --num_teachers=1.")
flags.DEFINE_integer("grid", 9, "Grid points along each direction of the plane.", lower_bound=2)
flags.DEFINE_float("margin", 0.25, "How far the grid reaches beyond the three points, as a fraction of their "
                   "span.", lower_bound=0.0)
flags.DEFINE_integer("examples", 1000, "Train examples for the loss and test examples for the agreement.",
                     lower_bound=1)
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_string("output", None, "Writes OUTPUT.npz and OUTPUT.png.")
flags.mark_flags_as_required(["run_dir", "output"])


def main():
    from kd_tf.jobs import loss_plane

    npz, png = loss_plane.run(FLAGS.run_dir, FLAGS.output, FLAGS.grid, FLAGS.margin, FLAGS.examples,
                              FLAGS.data_dir)
    print(f"wrote {npz} and {png}")


if __name__ == "__main__":
    cli.run(main)
