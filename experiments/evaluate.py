"""Evaluates students against their teacher ensemble: every metric (accuracy,
NLL, ECE, agreement, KL) on clean test, clean train, and one augmented pass
over train with --aug (eval mode). One row per (model, split), as JSON and CSV.

  bazel run //experiments:evaluate -- --teacher_dir=runs/teachers/mnist5k-lenet5 \\
      --students=runs/a/student.keras,runs/b/student --reference_student=runs/c/student.keras
"""

import sys

from absl import app, flags

from kd_tf import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_string("teacher_dir", None, "Teacher ensemble directory.")
flags.DEFINE_integer("num_teachers", None, "Members to use (default: all).", lower_bound=1)
flags.DEFINE_integer("teacher_offset", 0, "First member to use (wrapping).", lower_bound=0)
flags.DEFINE_list("students", None, "Students: .keras files or SavedModel directories.")
flags.DEFINE_string("reference_student", None, "An independent student (other seed and teachers): its agreement "
                    "with the teacher is the baseline, and each student's agreement with it is reported.")
flags.DEFINE_enum("aug", "baseline", choices.POLICIES, "Policy of the augmented pass over train.")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_string("generator", None, "gan: generator for the augmented pass.")
flags.DEFINE_integer("seed", 0, "Seed of the augmented pass.")
flags.DEFINE_integer("batch_size", None, "Batch of the augmented pass (batch-level policies such as mixup "
                     "depend on it; default: the dataset's student batch, 128).", lower_bound=1)
flags.DEFINE_string("output", "runs/evaluation", "Writes OUTPUT.json and OUTPUT.csv.")
flags.mark_flags_as_required(["teacher_dir", "students"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from kd_tf.train import evaluate_job
    from kd_tf.train.run_dir import resolve_path

    try:
        rows = evaluate_job.run(
            resolve_path(FLAGS.teacher_dir), [resolve_path(p) for p in FLAGS.students],
            resolve_path(FLAGS.reference_student) if FLAGS.reference_student else None, FLAGS.aug,
            FLAGS.num_teachers, FLAGS.teacher_offset, FLAGS.data_dir, FLAGS.generator, FLAGS.seed,
            resolve_path(FLAGS.output), FLAGS.batch_size)
    except UserError as e:
        sys.exit(f"error: {e}")
    print(evaluate_job.format_rows(rows))
    print(f"wrote {resolve_path(FLAGS.output)}.json and .csv")


if __name__ == "__main__":
    app.run(main)
