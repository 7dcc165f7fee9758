"""Predictions over a split, and metrics of logits with kd_tf.metrics (the same
code the Distiller reports with, so that final and per-epoch numbers agree)."""

import numpy as np

from kd_tf import metrics as kd_metrics
from kd_tf.data.pipeline import evaluation_dataset


def predict(model, split, properties, batch_size=500):
    """(labels, logits) of `model` in eval mode on the clean inputs of a split,
    labels read from the same stream (streamed splits have no label array)."""
    labels, logits = [], []
    for batch in evaluation_dataset(split, batch_size, properties):
        labels.append(batch["label"].numpy())
        logits.append(np.asarray(model(batch["image"], training=False)))
    return np.concatenate(labels), np.concatenate(logits)


def _results(metric_objects, a, b):
    out = {}
    for metric in metric_objects:
        metric.update_state(a, b)
        out[metric.name] = float(metric.result())
    return out


def generalisation(labels, logits):
    return _results(kd_metrics.generalisation_metrics(), labels, logits)


def fidelity(teacher_logits, student_logits):
    return _results(kd_metrics.fidelity_metrics(), teacher_logits, student_logits)
