"""Runs one experiment of the paper end to end: its runs, then results.csv,
summary.csv, figures and report.md.

  bazel run //experiments:study -- --study=policies --scale=smoke
  bazel run //experiments:study -- --study=policies --scale=paper --data_dir=/data/tfds --dry_run

Finished runs are skipped (a finished study only re-aggregates); interrupted
ones resume. Exits 1 if any run failed (the report lists them, with logs).
"""

import sys

from kd_tf import cli
from kd_tf.config.runtime import Runtime
from kd_tf.config.study import StudyConfig, StudyExecution

cli.define_binary_flags("study")


def main():
    from kd_tf.studies import run

    result = run.run(cli.read_flags(StudyConfig), cli.read_flags(StudyExecution), cli.read_flags(Runtime))
    if result.report is None:  # --dry_run
        print(result.plan)
        return
    print(f"study finished in {result.seconds:.1f}s: {len(result.trained)} run(s) trained, "
          f"{len(result.failed)} failed or skipped")
    print(f"report: {result.report}")
    cli.print_outputs(result.output_dir)
    if result.failed:
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
