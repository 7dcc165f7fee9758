"""--gan_sampling=device: the gan policy's synthetic rows drawn inside the
train step, on the accelerator, rather than by the generator in tf.data on
the host, which a fast accelerator with a small host can outrun.

z is stateless: keyed by (seed, global step); every replica draws the
global batch's z, as one device does, and keeps its own rows, so that a run
repeats exactly and N replicas sample what one device samples.
"""

import tensorflow as tf


class DeviceSampler:
    """Appends `rows` generator samples (label -1, `temperature`) to each
    replica's batch. The generator must be built under the strategy's scope."""

    def __init__(self, generator, rows, temperature, seed):
        self.generator, self.rows, self.temperature, self.seed = generator, int(rows), float(temperature), int(seed)

    def append(self, data, step):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        key = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        z = tf.random.stateless_normal([self.rows * replicas, self.generator.z_dim], seed=key)
        if replicas > 1:
            z = tf.slice(z, [context.replica_id_in_sync_group * self.rows, 0], [self.rows, self.generator.z_dim])
        images = tf.clip_by_value(tf.cast(self.generator(z), tf.float32), -1.0, 1.0)
        images = tf.ensure_shape(images, [self.rows, *self.generator.image_shape])
        rows = {
            "image": tf.cast(images, data["image"].dtype),
            "label": tf.fill([self.rows], tf.constant(-1, data["label"].dtype)),
            "temperature": tf.fill([self.rows], tf.constant(self.temperature, data["temperature"].dtype)),
        }
        return {k: tf.concat([v, rows[k]], axis=0) if k in rows else v for k, v in data.items()}
