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
    partner = mixup_partners(tf.shape(images)[0], key)
    mixed, lam = mix(images, tf.gather(images, partner), key if lambda_key is None else lambda_key)
    return mixed, lam, partner


def mixup_partners(size, key):
    """The in-batch partner of each of a batch's `size` rows."""
    perm_key = tf.random.experimental.stateless_split(key, 2)[1]
    return tf.random.experimental.stateless_shuffle(tf.range(size), seed=perm_key)


def mix(images, partner_images, lambda_key):
    """Each image mixed with its partner's by the batch's lambda; returns (mixed, lambda)."""
    lam_key = tf.random.experimental.stateless_split(lambda_key, 2)[0]
    lam = tf.random.stateless_uniform([], seed=lam_key, dtype=images.dtype)
    return lam * images + (1.0 - lam) * partner_images, lam


def synthetic_rows(generator, count, key, temperature, first=0, total=None):
    """`count` generator samples from z ~ N(0, I) as unlabelled rows (label -1)
    with the given temperature, in the model's input range [-1, 1].

    The z are rows [first, first + count) of the `total` (default: count) that
    `key` draws, so that the replicas of a step, each taking its own rows,
    together sample what one device samples; rows past `total` are zeros."""
    total = count if total is None else total
    z = tf.random.stateless_normal([total, generator.z_dim], seed=key)
    if total != count:
        z = tf.reshape(tf.concat([z, tf.zeros([count, generator.z_dim])], axis=0)[first:first + count],
                       [count, generator.z_dim])
    images = tf.clip_by_value(tf.cast(generator(z), tf.float32), -1.0, 1.0)
    images.set_shape([count, *generator.image_shape])
    return {
        "image": images,
        "label": tf.fill([count], tf.constant(-1, tf.int32)),
        "temperature": tf.fill([count], tf.constant(temperature, tf.float32)),
    }


def append_rows(batch, rows):
    return {k: tf.concat([batch[k], rows[k]], axis=0) for k in batch}
