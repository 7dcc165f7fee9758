"""Every metric per epoch in TensorBoard, under train/ and test/."""

import keras
import tensorflow as tf


class TensorBoardScalars(keras.callbacks.Callback):
    """Every metric per epoch under train/ and test/ (Keras's val_ prefix), and the lr."""

    def __init__(self, log_dir, lr_of_epoch, enabled=True):
        super().__init__()
        self.enabled = enabled  # off on non-chief workers: one set of events per run
        self.log_dir = log_dir
        self.lr_of_epoch = lr_of_epoch  # epoch index -> the lr used during it
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(f"{self.log_dir}/{split}")
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        if not self.enabled:
            return
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
