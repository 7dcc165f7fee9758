"""Evaluates students against their teacher ensemble: every metric (accuracy,
NLL, ECE, agreement, KL) on clean test, clean train, and one augmented pass
over train with --aug (eval mode). One row per (model, split), as JSON and CSV.

  bazel run //experiments:evaluate -- --teacher_dir=runs/teachers/mnist5k-lenet5 \\
      --students=runs/a/student.keras,runs/b/student --reference_student=runs/c/student.keras
"""

from kd_tf import cli
from kd_tf.config.evaluate import EvaluateConfig
from kd_tf.config.runtime import Runtime

cli.define_binary_flags("evaluate")


def main():
    from kd_tf.jobs import evaluate
    from kd_tf.config.paths import resolve_path

    config = cli.read_flags(EvaluateConfig)
    rows = evaluate.run(config, cli.read_flags(Runtime))
    print(evaluate.format_rows(rows))
    print(f"wrote {resolve_path(config.output)}.json and .csv")


if __name__ == "__main__":
    cli.run(main)
