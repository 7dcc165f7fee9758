"""Runs the experiments binaries as `bazel run` does: the py_binary from the
runfiles under Bazel, the module otherwise."""

import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command(name):
    srcdir, workspace = os.environ.get("TEST_SRCDIR"), os.environ.get("TEST_WORKSPACE")
    if srcdir and workspace:
        return [os.path.join(srcdir, workspace, "experiments", name)]
    return [sys.executable, "-m", f"experiments.{name}"]


def run(name, *flags, timeout=600, env=None):
    """Returns (CompletedProcess, seconds)."""
    start = time.time()
    proc = subprocess.run(command(name) + list(flags), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    return proc, time.time() - start
