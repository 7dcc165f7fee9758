"""Batch-level policy stages, in the tf.data graph, keyed by (seed, epoch, batch)."""

import tensorflow as tf


def mixup(images, key):
    """Input mixup as in the study (REFERENCE.md section 4): one
    lambda ~ U[0, 1] (Beta(1, 1)) per batch; each image is mixed with a random
    in-batch partner. Labels are not mixed: the teacher labels the mixed input.

    Returns (mixed images, lambda, partner index of each row)."""
    lam_key, perm_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    lam = tf.random.stateless_uniform([], seed=lam_key, dtype=images.dtype)
    partner = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(images)[0]), seed=perm_key)
    mixed = lam * images + (1.0 - lam) * tf.gather(images, partner)
    return mixed, lam, partner


BATCH_POLICIES = {"mixup"}
