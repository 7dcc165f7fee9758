"""Resumable runs: a checkpoint of everything a run's future depends on
(student, optimizer with its step count, the epoch, the loss's RNG) after
every epoch, and a guard that stops on a non-finite loss before it can be
saved. The data stream is stateless and keyed by epoch, so restoring these
and restarting the stream at the saved epoch reproduces the uninterrupted run.
"""

import math

import keras
import tensorflow as tf

from kd_tf.errors import UserError


class RunCheckpoint:
    def __init__(self, directory, distiller):
        self.checkpoint = tf.train.Checkpoint(student=distiller.student, optimizer=distiller.optimizer,
                                              epoch=distiller.epoch, seed=distiller.seed_generator.state)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=2)

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


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where."""

    def __init__(self):
        super().__init__()
        self.failure = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (self._epoch + 1, batch + 1)
            self.model.stop_training = True

    def raise_if_failed(self, checkpoint):
        if self.failure:
            epoch, step = self.failure
            kept = checkpoint.manager.latest_checkpoint or "none yet"
            raise UserError(f"The loss became non-finite at epoch {epoch}, step {step}; training stopped and the "
                            f"last good checkpoint ({kept}) is kept. Lower --lr, or check the inputs.")


class SaveCheckpoints(keras.callbacks.Callback):
    """After every epoch, and every `every_steps` steps within epochs (0: never)."""

    def __init__(self, checkpoint, guard, every_steps=0):
        super().__init__()
        self.checkpoint, self.guard, self.every_steps = checkpoint, guard, every_steps

    def _step(self):
        return int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and self.guard.failure is None and self._step() % self.every_steps == 0:
            self.checkpoint.save(self._step())

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failure is None:
            self.checkpoint.save(self._step())
