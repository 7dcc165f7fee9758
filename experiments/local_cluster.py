"""Runs a kd_tf job as a multi-worker cluster on this machine (127.0.0.1),
for development and tests.

  bazel run //experiments:local_cluster -- --workers=2 -- //experiments:distill --epochs=3

Each worker gets TF_CONFIG with free local ports and --strategy=multi_worker;
their logs are streamed with a [worker i] prefix; the cluster fails (and
stops the others) as soon as one worker fails.
"""

import sys

from absl import app, flags

from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_integer("workers", 2, "Worker processes.", lower_bound=1)
flags.DEFINE_float("timeout_s", None, "Stop every worker and fail after this many seconds (default: no limit).")


def main(argv):
    from kd_tf.jobs import local_cluster

    if len(argv) < 2:
        print("error: name the job after --, e.g. local_cluster --workers=2 -- //experiments:distill --epochs=3",
              file=sys.stderr)
        sys.exit(2)
    try:
        status = local_cluster.run(FLAGS.workers, argv[1], argv[2:], FLAGS.timeout_s)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(status)


if __name__ == "__main__":
    app.run(main)
