"""Stops a run at its first non-finite loss, before it can be checkpointed."""

import math

import keras

from kd_tf.errors import UserError


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first execution whose loss is non-finite.

    The logged loss is the epoch's running mean, so it stays non-finite from
    the first bad step on. The guard is async-safe: Keras reads the logs on a
    worker thread, so the training loop never waits for the device on the
    guard's account (a per-step host sync would stall an accelerator); a
    failure stops training a few steps later, and checkpoints, which consult
    the guard after Keras has drained those threads, never keep it.
    """

    async_safe = True

    def __init__(self):
        super().__init__()
        self.failure = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.check(batch, logs)

    def check(self, batch, logs):
        """False (and training stopped) once a loss was non-finite."""
        if self.failure is None:
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.failure = (self._epoch + 1, batch + 1)
                self.model.stop_training = True
        return self.failure is None

    def raise_if_failed(self, last_checkpoint):
        if self.failure:
            epoch, step = self.failure
            raise UserError(f"The loss became non-finite at epoch {epoch}, step {step} (or within the execution "
                            f"ending there, with --steps_per_execution > 1); training stopped and the last good "
                            f"checkpoint ({last_checkpoint or 'none yet'}) is kept. Lower --lr, or check the inputs.")
