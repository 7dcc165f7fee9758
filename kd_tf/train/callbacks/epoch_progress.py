"""One console line per epoch."""

import time

import keras
from absl import logging


class EpochProgress(keras.callbacks.Callback):
    """One console line per epoch: the numbers a run is judged by, and its time."""

    def __init__(self, label, epochs, keys):
        super().__init__()
        self.label = label
        self.epochs = epochs
        self.keys = keys
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        parts = [f"{k} {logs[k]:.4g}" for k in self.keys if k in logs]
        logging.info("%s epoch %d/%d  %s  (%.1fs)", self.label, epoch + 1, self.epochs,
                     "  ".join(parts), time.time() - self._start)
