"""The SN-GAN's periodic work: checkpoint, TensorBoard scalars and samples,
FID/IS when due, and a console line."""

import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from kd_tf.data import visualize


class GanMonitor(keras.callbacks.Callback):
    """Every Keras "epoch" (config.checkpoint_every generator steps)."""

    def __init__(self, gan, checkpoints, log_dir, config, evaluator):
        """log_dir None: no TensorBoard records (a non-chief worker)."""
        super().__init__()
        self.gan, self.checkpoints, self.config, self.evaluator = gan, checkpoints, config, evaluator
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else tf.summary.create_noop_writer()
        self.fixed_z = tf.random.stateless_normal([64, config.z_dim], seed=[config.seed, 7])
        self.start = time.time()
        self.last = {}

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.gan.g_optimizer.iterations.numpy())
        self.checkpoints.save(step)
        samples = np.asarray(self.gan.sample(self.fixed_z))
        grid = visualize.grid(samples, np.full(len(samples), visualize.SYNTHETIC), columns=8)
        every = self.config.fid_every
        due = step == self.config.gen_steps or (every and step % every == 0)
        extra = self.evaluator(self.gan.generator) if due else {}
        self.last = {**(logs or {}), **extra}
        with self.writer.as_default():
            for name, value in self.last.items():
                tf.summary.scalar(name, value, step=step)
            tf.summary.scalar("g_learning_rate", float(self.gan.g_optimizer.learning_rate), step=step)
            tf.summary.scalar("d_learning_rate", float(self.gan.d_optimizer.learning_rate), step=step)
            tf.summary.image("samples", grid[None], step=step)
        self.writer.flush()
        logging.info("generator step %d/%d  d_loss %.4f  g_loss %.4f%s  (%.0fs)", step, self.config.gen_steps,
                     self.last.get("d_loss", float("nan")), self.last.get("g_loss", float("nan")),
                     "".join(f"  {k} {v:.3f}" for k, v in extra.items()), time.time() - self.start)
