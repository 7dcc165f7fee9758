"""Run logs: TensorBoard scalars (train/ and test/), a per-epoch console line,
and the flags as text."""

import time

import keras
import tensorflow as tf
from absl import logging


class TensorBoardScalars(keras.callbacks.Callback):
    """Every metric per epoch under train/ and test/ (Keras's val_ prefix), and the lr."""

    def __init__(self, log_dir, lr_of_epoch):
        super().__init__()
        self.log_dir = log_dir
        self.lr_of_epoch = lr_of_epoch  # epoch index -> the lr used during it
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(f"{self.log_dir}/{split}")
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            split, metric = ("test", name[4:]) if name.startswith("val_") else ("train", name)
            with self._writer(split).as_default():
                tf.summary.scalar(metric, value, step=epoch + 1)
        with self._writer("train").as_default():
            tf.summary.scalar("learning_rate", self.lr_of_epoch(epoch), step=epoch + 1)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()


def write_text_summary(log_dir, name, text):
    writer = tf.summary.create_file_writer(f"{log_dir}/train")
    with writer.as_default():
        tf.summary.text(name, text, step=0)
    writer.close()


class EpochProgress(keras.callbacks.Callback):
    """One console line per epoch: the numbers a distillation run is judged by."""

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


class EpochVariable(keras.callbacks.Callback):
    """Keeps a model variable equal to the current epoch (the cvx loss anneals with it)."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)
