"""Resumable runs: a checkpoint of everything a run's future depends on
(student, optimizer with its step count, the epoch, the loss's RNG). The data
stream is stateless and keyed by epoch, so restoring these and restarting the
stream at the saved step reproduces the uninterrupted run.
"""

import tensorflow as tf


class RunCheckpoint:
    def __init__(self, directory, distiller):
        self.checkpoint = tf.train.Checkpoint(student=distiller.student, optimizer=distiller.optimizer,
                                              epoch=distiller.epoch, seed=distiller.seed_generator.state)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=2)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def restore(self):
        """Returns the global step restored (0: a fresh run); checkpoints are
        numbered by the optimizer's step."""
        if not self.manager.latest_checkpoint:
            return 0
        self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self.manager.latest_checkpoint.rsplit("-", 1)[1])

    def save(self, step):
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(f"-{step}"):
            return
        self.manager.save(checkpoint_number=step)


def has_checkpoint(directory):
    return tf.train.latest_checkpoint(directory) is not None
