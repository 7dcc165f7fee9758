"""Checkpoints after every epoch, and every N steps within epochs."""

import keras


class SaveCheckpoints(keras.callbacks.Callback):
    """After every epoch, unless the guard saw a non-finite loss. Runs last
    among the callbacks: a saved epoch implies its logs are written."""

    def __init__(self, checkpoint, guard):
        super().__init__()
        self.checkpoint, self.guard = checkpoint, guard

    def _step(self):
        return int(self.model.optimizer.iterations.numpy())

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failure is None:
            self.checkpoint.save(self._step())


class SaveCheckpointsEverySteps(SaveCheckpoints):
    """Also within epochs: at the end of the first execution that reaches
    each multiple of `every_steps`, so that any --steps_per_execution works
    (a checkpoint records its real step, and a resume starts there). Reading
    the step waits for the device once per execution; hence a separate
    class, used only when step checkpoints are asked for."""

    def __init__(self, checkpoint, guard, every_steps):
        super().__init__(checkpoint, guard)
        self.every_steps = every_steps
        self._saved = None

    def on_train_begin(self, logs=None):
        step = self._step()
        self._saved = step - step % self.every_steps  # the last multiple reached

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step - self._saved >= self.every_steps and self.guard.check(batch, logs):
            self.checkpoint.save(step)
            self._saved = step - step % self.every_steps


def checkpoint_callback(checkpoint, guard, every_steps=0):
    """Epoch checkpoints, plus step ones when every_steps > 0."""
    if every_steps:
        return SaveCheckpointsEverySteps(checkpoint, guard, every_steps)
    return SaveCheckpoints(checkpoint, guard)
