"""Real images for the SN-GAN discriminator: per generator step, disc_steps x
batch images drawn with replacement, keyed by (seed, step), with horizontal
flips where they preserve the data (REFERENCE.md section 5). A resumed run
continues the same stream from its step.

With an input context (strategy.distribute_datasets_from_function) each input
pipeline draws only its own replicas' rows, keyed by (seed, step, replica):
a worker never builds the rows of another."""

import tensorflow as tf

from kd_tf.data.normalization import normalize
from kd_tf.data.pipeline import log_input_share
from kd_tf.errors import UserError


def real_stream(split, properties, images_per_step, seed, start_step=0, input_context=None):
    images = tf.constant(split.images)
    n = len(split)
    replicas = input_context.num_replicas_in_sync if input_context else 1
    if images_per_step % replicas:
        raise UserError(f"train_gan: the {images_per_step} real images of a generator step (--batch_size x "
                        f"--disc_steps_per_gen_step) must divide among the {replicas} replicas.")
    rows = images_per_step // replicas
    log_input_share("SN-GAN real images", input_context, images_per_step)
    slots = replicas // input_context.num_input_pipelines if input_context else 1
    first_replica = input_context.input_pipeline_id * slots if input_context else 0

    def replica_batch(element):
        step, slot = start_step + element // slots, element % slots
        key = tf.random.experimental.stateless_fold_in(tf.constant([seed, 11], tf.int64), step)
        if replicas > 1:  # one replica keeps the keys of a single-device run
            key = tf.random.experimental.stateless_fold_in(key, first_replica + slot)
        pick_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        index = tf.random.stateless_uniform([rows], seed=pick_key, maxval=n, dtype=tf.int64)
        batch = normalize(tf.gather(images, index))
        if properties.hflip:
            flips = tf.random.stateless_uniform([rows], seed=flip_key) < 0.5
            batch = tf.where(flips[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        batch.set_shape([rows, *properties.image_shape])
        return batch

    return tf.data.Dataset.range(0, 2**62).map(replica_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
