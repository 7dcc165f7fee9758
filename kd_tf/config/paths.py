"""Where a path given by a user points. Free of TensorFlow, so that planning a
study (and checking flags) does not load it.

Under `bazel run` the working directory is the runfiles tree; relative paths
given on the command line mean the user's workspace instead.
"""

import os


def is_url(path):
    """gs://bucket/a, ram://x: a filesystem TensorFlow resolves, not a local path."""
    return "://" in str(path)


def resolve_path(path):
    """Absolute path; relative ones resolve against the Bazel workspace under
    `bazel run` (BUILD_WORKSPACE_DIRECTORY), else the working directory.
    URLs (gs://bucket/runs, ram://...) pass through unchanged."""
    if path is None:
        return None
    if is_url(path):
        return str(path).rstrip("/")
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        return path
    base = os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.getcwd()
    return os.path.normpath(os.path.join(base, path))
