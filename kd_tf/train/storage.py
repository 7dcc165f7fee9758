"""File I/O on any filesystem TensorFlow knows: local paths, gs://, ram://.

Runs on Cloud TPU VMs and clusters live in buckets, so every file kd_tf
reads or writes for a user goes through tf.io.gfile; `open`, `os` and numpy
file functions would see a gs:// path as a missing local file.
"""

import io
import json

import numpy as np
import tensorflow as tf


def exists(path):
    return tf.io.gfile.exists(path)


def isdir(path):
    return tf.io.gfile.isdir(path)


def makedirs(path):
    tf.io.gfile.makedirs(path)


def rmtree(path):
    if tf.io.gfile.exists(path):
        tf.io.gfile.rmtree(path)


def read_bytes(path):
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def read_text(path):
    with tf.io.gfile.GFile(path, "r") as f:
        return f.read()


def write_bytes(path, data):
    """Through a temporary name and a rename, so that an interrupted write
    leaves the previous file (a rename within a bucket is a copy, but a reader
    still never sees half a file)."""
    tmp = f"{path}.tmp"
    with tf.io.gfile.GFile(tmp, "wb") as f:
        f.write(data)
    tf.io.gfile.rename(tmp, path, overwrite=True)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def read_json(path):
    return json.loads(read_text(path))


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2))


def save_npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def load_npz(path):
    """A dict of arrays (read whole: np.load cannot seek in a bucket)."""
    with np.load(io.BytesIO(read_bytes(path)), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_figure(figure, path, **kwargs):
    """A matplotlib figure as PNG, wherever path points."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", **kwargs)
    write_bytes(path, buffer.getvalue())
