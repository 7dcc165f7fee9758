"""Checkpoints after every epoch, and every N steps within epochs."""

import keras


class SaveCheckpoints(keras.callbacks.Callback):
    """After every epoch, and every `every_steps` steps within epochs (0:
    never), unless the guard saw a non-finite loss. Runs last among the
    callbacks: a saved epoch implies its logs are written."""

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
