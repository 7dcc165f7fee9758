"""Stops a run at its first non-finite loss, before it can be checkpointed."""

import math

import keras

from kd_tf.errors import UserError


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

    def raise_if_failed(self, last_checkpoint):
        if self.failure:
            epoch, step = self.failure
            raise UserError(f"The loss became non-finite at epoch {epoch}, step {step}; training stopped and the "
                            f"last good checkpoint ({last_checkpoint or 'none yet'}) is kept. Lower --lr, or check "
                            "the inputs.")
