"""Runs a study's jobs inside one long-lived process, so that TensorFlow is
imported once per worker rather than once per run (seconds a run, which is
most of a smoke run's time). `execute` runs one job; as a program this module
reads jobs as JSON lines on stdin and answers on its original stdout, while
each job's own output goes to that run's log file.

  python -m kd_tf.studies.worker [--cpus=0,1]
"""

import argparse
import contextlib
import dataclasses
import gc
import importlib
import json
import os
import sys
import time
import traceback

from kd_tf.config.runtime import Runtime
from kd_tf.errors import UserError
from kd_tf.jobs.kinds import JOBS


def payload(run, data_dir=None):
    """A run as a JSON-able job for `execute`."""
    return {"kind": run.kind, "config": dataclasses.asdict(run.config), "directory": run.directory,
            "data_dir": data_dir, "log": os.path.join(run.directory, "study.log")}


def _config(kind, fields):
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return JOBS[kind].config(**fields)


@contextlib.contextmanager
def output_to(path):
    """The process's stdout and stderr (file descriptors 1 and 2, so that
    TensorFlow's C++ output too) appended to `path` for the duration."""
    from kd_tf.config.paths import resolve_path

    path = resolve_path(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def execute(job):
    """Runs one job in this process; returns {"ok", "error", "seconds", "log"}."""
    import keras

    # JOBS names these modules; importing them here also makes them this module's Bazel deps.
    from kd_tf.jobs import distill, distill_group, evaluate, gan, teachers  # noqa: F401

    start = time.time()
    config = _config(job["kind"], job["config"])
    runtime = Runtime(data_dir=job.get("data_dir"), output_dir=job["directory"])
    error = None
    with output_to(job["log"]):
        try:
            print(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {job['kind']} {job['directory']}", file=sys.stderr)
            importlib.import_module(JOBS[job["kind"]].module).execute(config, runtime)
        except UserError as e:
            error = f"error: {e}"
            print(error, file=sys.stderr)
        except Exception:  # a bug in one run must not stop the study; its log keeps the traceback
            error = traceback.format_exc().strip().splitlines()[-1]
            traceback.print_exc()
        finally:
            keras.backend.clear_session()
            gc.collect()
    return {"ok": error is None, "error": error, "seconds": round(time.time() - start, 1), "log": job["log"]}


def pin(cpus):
    """This process (and TensorFlow's thread pools) on the given CPUs only."""
    if cpus:
        os.sched_setaffinity(0, cpus)
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(len(cpus))
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpus", default="", help="CPUs to run on, e.g. 0,1 (default: all)")
    args = parser.parse_args()
    pin([int(c) for c in args.cpus.split(",") if c])
    from absl import flags
    from absl import logging as absl_logging

    from kd_tf import cli

    answers = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol; fd 1 itself goes to each run's log
    flags.FLAGS.mark_as_parsed()  # absl, as the binaries set it up: INFO lines with their sources
    absl_logging.use_absl_handler()
    absl_logging.set_verbosity(absl_logging.INFO)
    cli.quiet_tensorflow()
    for line in sys.stdin:
        job = json.loads(line)
        answers.write(json.dumps({"id": job["id"], **execute(job)}) + "\n")


if __name__ == "__main__":
    main()
