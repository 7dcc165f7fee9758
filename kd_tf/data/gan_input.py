"""Real images for the SN-GAN discriminator: per generator step, disc_steps x
batch images drawn with replacement, keyed by (seed, step), with horizontal
flips where they preserve the data (REFERENCE.md section 5). A resumed run
continues the same stream from its step.

With an input context (strategy.distribute_datasets_from_function) each input
pipeline builds only its own replicas' rows, but which rows a step holds does
not depend on the replica count: every pipeline draws the step's indices and
flips as one device does (a few integers), and replica r takes its share of
each discriminator step's batch, so that the replicas together train on
exactly the single-device batches."""

import tensorflow as tf

from kd_tf.data.normalization import normalize
from kd_tf.data.pipeline import log_input_share
from kd_tf.errors import UserError


def real_stream(split, properties, batch_size, seed, disc_steps=1, start_step=0, input_context=None):
    """batch_size: the global batch of one discriminator step; a generator
    step takes disc_steps of them."""
    images = tf.constant(split.images)
    n = len(split)
    replicas = input_context.num_replicas_in_sync if input_context else 1
    if batch_size % replicas:
        raise UserError(f"train_gan: --batch_size={batch_size} must divide among the {replicas} replicas.")
    rows = batch_size // replicas  # a replica's share of one discriminator step
    images_per_step = batch_size * disc_steps
    log_input_share("SN-GAN real images", input_context, images_per_step)
    slots = replicas // input_context.num_input_pipelines if input_context else 1
    first_replica = input_context.input_pipeline_id * slots if input_context else 0

    def replica_batch(element):
        step, slot = start_step + element // slots, element % slots
        key = tf.random.experimental.stateless_fold_in(tf.constant([seed, 11], tf.int64), step)
        pick_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        # The step's draws as on one device, [disc step, replica, row]; this replica's column of them.
        index = tf.random.stateless_uniform([images_per_step], seed=pick_key, maxval=n, dtype=tf.int64)
        share = tf.reshape(tf.reshape(index, [disc_steps, replicas, rows])[:, first_replica + slot], [-1])
        batch = normalize(tf.gather(images, share))
        if properties.hflip:
            flips = tf.random.stateless_uniform([images_per_step], seed=flip_key) < 0.5
            flips = tf.reshape(tf.reshape(flips, [disc_steps, replicas, rows])[:, first_replica + slot], [-1])
            batch = tf.where(flips[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        batch.set_shape([rows * disc_steps, *properties.image_shape])
        return batch

    return tf.data.Dataset.range(0, 2**62).map(replica_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
