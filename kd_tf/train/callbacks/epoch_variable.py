"""The current epoch as a model variable, for what anneals with it in-graph."""

import keras


class EpochVariable(keras.callbacks.Callback):
    """Keeps a model variable equal to the current epoch (the cvx loss anneals with it)."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)
