"""Stateless random keys of the input pipeline: every random choice is a
function of (run seed, stream, data...), so that a stream restarted anywhere
reproduces itself, at any parallelism."""

import tensorflow as tf

# Independent streams of randomness derived from the run seed.
SHUFFLE, EXAMPLE, BATCH, SYNTHETIC = 1, 2, 3, 4


def key(seed, stream, *data):
    """A stateless seed (shape [2], int64) for `stream`, folded with `data`."""
    value = tf.constant([seed, stream], tf.int64)
    for item in data:
        value = tf.random.experimental.stateless_fold_in(value, tf.cast(item, tf.int64))
    return value
