"""Who writes in a multi-worker run.

Every worker runs the same program and must take part in each collective
(training steps, checkpoint and model saves), but only the chief may write
into the run's directory: a shared directory written by N workers races, and
holds N sets of events. Non-chief workers save into a scratch directory of
their own and delete it (the TF way), and skip logs, CSV, JSON and exports.
"""

import contextlib
import shutil
import tempfile


def is_chief(strategy):
    """True on one process of the run (on every single-process strategy;
    None stands for the default one)."""
    return strategy is None or bool(strategy.extended.should_checkpoint)


@contextlib.contextmanager
def scratch_dir():
    """A local directory a non-chief worker saves into, deleted on exit."""
    path = tempfile.mkdtemp(prefix="kd_tf-worker-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def save_as_chief(strategy, path, save):
    """save(path) on the chief; save(<scratch>/<name>) elsewhere, then deleted:
    the save's collectives run on every worker, its files land once."""
    if is_chief(strategy):
        save(path)
        return
    with scratch_dir() as scratch:
        save(f"{scratch}/{path.rstrip('/').rsplit('/', 1)[-1]}")
