"""Real images for the SN-GAN discriminator: per generator step, disc_steps x
batch images drawn with replacement, keyed by (seed, step), with horizontal
flips where they preserve the data (REFERENCE.md section 5). A resumed run
continues the same stream from its step."""

import tensorflow as tf

from kd_tf.data.normalization import normalize


def real_stream(split, properties, images_per_step, seed, start_step=0):
    images = tf.constant(split.images)
    n = len(split)

    def step_batch(step):
        key = tf.random.experimental.stateless_fold_in(tf.constant([seed, 11], tf.int64), step)
        pick_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        index = tf.random.stateless_uniform([images_per_step], seed=pick_key, maxval=n, dtype=tf.int64)
        batch = normalize(tf.gather(images, index))
        if properties.hflip:
            flips = tf.random.stateless_uniform([images_per_step], seed=flip_key) < 0.5
            batch = tf.where(flips[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        batch.set_shape([images_per_step, *properties.image_shape])
        return batch

    return tf.data.Dataset.range(start_step, 2**62).map(step_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
