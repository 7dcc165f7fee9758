"""The SN-GAN training model: one train step is one generator step, preceded
by `disc_steps` discriminator steps, each on its own slice of the real batch
(the input pipeline yields disc_steps x batch real images per step).

Each replica's loss is divided by the replica count, because Keras
all-reduces gradients with SUM. Each replica draws the global batch's z, as
one device would, and keeps its own rows of it (with the real images split
the same way, kd_tf.data.gan_input, and the generator's BatchNorm
synchronised), so that N replicas train the single-device GAN.
"""

import keras
import tensorflow as tf
from keras import ops

from kd_tf.gan.losses import discriminator_hinge, generator_hinge


class SNGAN(keras.Model):
    def __init__(self, generator, discriminator, disc_steps=5, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.disc_steps = int(disc_steps)
        self.z_dim = int(generator.z_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # Built from the start: it has no call() that fit could build it from (fit tries under a strategy).
        self.built = True

    def build(self, input_shape=None):
        self.built = True  # the generator and discriminator arrive built

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _z(self, n):
        """This replica's n rows of the global batch's latents (one device's draw)."""
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        z = keras.random.normal((n * replicas, self.z_dim), seed=self.seed_generator)
        if replicas == 1:
            return z
        return ops.slice(z, (context.replica_id_in_sync_group * n, 0), (n, self.z_dim))

    @staticmethod
    def _replicas():
        return tf.distribute.get_replica_context().num_replicas_in_sync

    def discriminator_step(self, real):
        """One discriminator update on a real batch; the generator's weights are untouched."""
        fake = self.generator(self._z(ops.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            loss = discriminator_hinge(self.discriminator(real, training=True),
                                       self.discriminator(fake, training=True))
            scaled = loss / self._replicas()
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss

    def generator_step(self, batch_size):
        """One generator update; the discriminator's weights are untouched."""
        with tf.GradientTape() as tape:
            fake = self.generator(self._z(batch_size), training=True)
            loss = generator_hinge(self.discriminator(fake, training=True))
            scaled = loss / self._replicas()
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss

    def train_step(self, real):
        per_step = ops.shape(real)[0] // self.disc_steps
        for k in range(self.disc_steps):
            d_loss = self.discriminator_step(real[k * per_step:(k + 1) * per_step])
            self.d_loss_tracker.update_state(d_loss)
        g_loss = self.generator_step(per_step)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def sample(self, z):
        return self.generator(z, training=False)
