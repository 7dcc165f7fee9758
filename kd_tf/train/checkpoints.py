"""Resumable runs: a checkpoint of everything a run's future depends on
(student, optimizer with its step count, the epoch, the loss's RNG). The data
stream is stateless and keyed by epoch, so restoring these and restarting the
stream at the saved step reproduces the uninterrupted run.

Two checkpoints are kept: a machine lost mid-write leaves a damaged newest
one, and a restore falls back to the one before it.
"""

import keras
import tensorflow as tf
from absl import logging

from kd_tf.train import workers


class Checkpoints:
    """The checkpoints of one directory, numbered by a step or an epoch.
    Non-chief workers restore from it and save nowhere (see kd_tf.train.workers)."""

    def __init__(self, directory, chief=True, **objects):
        tracked = dict(objects)
        for name, obj in objects.items():
            if isinstance(obj, keras.layers.Layer):
                # Keras 3 hides layers held in Python lists (PreResNet stages, VGG features, SN-GAN blocks) from
                # tf.train.Checkpoint; the optimizer saves their trainable weights, but BatchNorm statistics and
                # spectral-norm vectors would be lost. Every weight, by position, is saved here.
                tracked[f"{name}_weights"] = list(obj.weights)
        self.checkpoint = tf.train.Checkpoint(**tracked)
        self.manager = make_manager(self.checkpoint, directory)
        self.chief = chief
        self.restored = None
        self._saved_step = None

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def restore(self):
        """Returns the number of the checkpoint restored (0: none)."""
        self.restored = restore_newest_intact(self.checkpoint, self.manager)
        return int(self.restored.rsplit("-", 1)[1]) if self.restored else 0

    def save(self, step):
        if self._saved_step == step or (self.latest or "").endswith(f"-{step}"):
            return
        if self.chief:
            self.manager.save(checkpoint_number=step)
        else:  # its collectives run here too; its files go nowhere
            with workers.scratch_dir() as scratch:
                self.checkpoint.write(f"{scratch}/ckpt-{step}")
        self._saved_step = step


def for_distiller(directory, distiller, chief=True):
    """A distillation's checkpoints, numbered by the optimizer's step."""
    return Checkpoints(directory, chief, student=distiller.student, optimizer=distiller.optimizer,
                       epoch=distiller.epoch, seed=distiller.seed_generator.state)


def make_manager(checkpoint, directory):
    return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)


def restore_newest_intact(checkpoint, manager):
    """Restores the newest checkpoint that reads back whole; returns its path
    (None: nothing to restore). A damaged one is named in the log and skipped."""
    for path in reversed(manager.checkpoints):
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, IndexError, AssertionError) as e:
            logging.warning("Checkpoint %s is damaged (%s: %s); falling back to the one before it.", path,
                            type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            continue
        return path
    if manager.checkpoints:
        logging.warning("No checkpoint in %s restores; starting from scratch.", manager.directory)
    return None


def has_checkpoint(directory):
    return tf.train.latest_checkpoint(directory) is not None


def latest_step(directory):
    """The number of a directory's newest checkpoint (0: none)."""
    path = tf.train.latest_checkpoint(directory) if has_checkpoint(directory) else None
    return int(path.rsplit("-", 1)[1]) if path else 0
