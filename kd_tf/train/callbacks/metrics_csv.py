"""metrics.csv: one row per epoch, rewritten whole through gfile.

Keras's CSVLogger appends through a local file handle (no gs://, and its
GFile path breaks on close); a rewrite also drops the rows of epochs that a
resume redoes, so that each epoch appears once."""

import csv
import io

import keras

from kd_tf.train import storage


def read_rows(path):
    """The rows of a metrics.csv as dicts of strings ([] when absent)."""
    if not storage.exists(path):
        return []
    return list(csv.DictReader(io.StringIO(storage.read_text(path))))


class MetricsCsv(keras.callbacks.Callback):
    def __init__(self, path, first_epoch, enabled=True):
        super().__init__()
        self.path, self.first_epoch, self.enabled = path, first_epoch, enabled
        self.rows = []

    def on_train_begin(self, logs=None):
        if self.enabled:
            self.rows = [row for row in read_rows(self.path) if int(row["epoch"]) < self.first_epoch]

    def on_epoch_end(self, epoch, logs=None):
        if not self.enabled:
            return
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in sorted((logs or {}).items())}})
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        storage.write_text(self.path, text.getvalue())
