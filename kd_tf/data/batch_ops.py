"""Batch-level policy stages, in the tf.data graph, keyed by (seed, epoch, batch)."""

import tensorflow as tf


def mixup(images, key, lambda_key=None):
    """Input mixup as in the study (REFERENCE.md section 4): one
    lambda ~ U[0, 1] (Beta(1, 1)) per batch; each image is mixed with a random
    in-batch partner. Labels are not mixed: the teacher labels the mixed input.
    lambda_key (default: key) draws lambda: the global batch's key, so that
    every replica's share of a step mixes with the same lambda, as the
    reference's one-device batch does.

    Returns (mixed images, lambda, partner index of each row)."""
    lam_key, perm_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    if lambda_key is not None:
        lam_key = tf.random.experimental.stateless_split(lambda_key, 2)[0]
    lam = tf.random.stateless_uniform([], seed=lam_key, dtype=images.dtype)
    partner = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(images)[0]), seed=perm_key)
    mixed = lam * images + (1.0 - lam) * tf.gather(images, partner)
    return mixed, lam, partner


def synthetic_rows(generator, count, key, temperature):
    """`count` generator samples from z ~ N(0, I) as unlabelled rows (label -1)
    with the given temperature, in the model's input range [-1, 1]."""
    z = tf.random.stateless_normal([count, generator.z_dim], seed=key)
    images = tf.clip_by_value(tf.cast(generator(z), tf.float32), -1.0, 1.0)
    images.set_shape([count, *generator.image_shape])
    return {
        "image": images,
        "label": tf.fill([count], tf.constant(-1, tf.int32)),
        "temperature": tf.fill([count], tf.constant(temperature, tf.float32)),
    }


def append_rows(batch, rows):
    return {k: tf.concat([batch[k], rows[k]], axis=0) for k in batch}
