"""Generalisation and fidelity metrics of the study (REFERENCE.md section 2).

Streaming Keras metrics written with keras.ops. Each keeps exact sums (not a
running mean of batch means), so that a result pooled over batches, and over
replicas, equals the metric computed on all examples at once.

Label-based metrics skip rows whose label is negative: the pipeline marks rows
that have no true label (synthetic or out-of-domain data) with -1.
"""

import keras
from keras import ops


def _label_mask(labels):
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    mask = ops.cast(labels >= 0, "float32")
    return ops.maximum(labels, 0), mask


class _SumMetric(keras.metrics.Metric):
    """Keeps a numerator and a denominator; result = numerator / denominator."""

    def __init__(self, name, scale=1.0, **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = scale
        self.numerator = self.add_variable(shape=(), initializer="zeros", name="numerator")
        self.denominator = self.add_variable(shape=(), initializer="zeros", name="denominator")

    def _accumulate(self, values, weights):
        self.numerator.assign_add(ops.sum(values * weights))
        self.denominator.assign_add(ops.sum(weights))

    def result(self):
        return self.scale * ops.divide_no_nan(self.numerator, self.denominator)


class Accuracy(_SumMetric):
    """Top-1 accuracy against true labels, in percent."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, scale=100.0, **kwargs)

    def update_state(self, labels, logits, sample_weight=None):
        labels, mask = _label_mask(labels)
        correct = ops.cast(ops.argmax(logits, axis=-1) == labels, "float32")
        self._accumulate(correct, mask)


class NegativeLogLikelihood(_SumMetric):
    """Mean over examples of -log p(y_true): the true NLL, not the reference's
    batch x batch average."""

    def __init__(self, name="nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, labels, logits, sample_weight=None):
        labels, mask = _label_mask(labels)
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        nll = -ops.take_along_axis(log_probs, labels[:, None], axis=-1)[:, 0]
        self._accumulate(nll, mask)


class ExpectedCalibrationError(keras.metrics.Metric):
    """ECE with equal-width confidence bins (k-1)/B < conf <= k/B, in percent:
    sum_b n_b/N |acc_b - conf_b| = sum_b |correct_b - confidence_b| / N."""

    def __init__(self, num_bins=10, name="ece", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_bins = num_bins
        self.counts = self.add_variable(shape=(num_bins,), initializer="zeros", name="counts")
        self.correct = self.add_variable(shape=(num_bins,), initializer="zeros", name="correct")
        self.confidence = self.add_variable(shape=(num_bins,), initializer="zeros", name="confidence")

    def update_state(self, labels, logits, sample_weight=None):
        labels, mask = _label_mask(labels)
        probs = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        confidence = ops.max(probs, axis=-1)
        correct = ops.cast(ops.argmax(probs, axis=-1) == labels, "float32")
        bins = ops.clip(ops.cast(ops.ceil(confidence * self.num_bins), "int32") - 1, 0, self.num_bins - 1)
        in_bin = ops.one_hot(bins, self.num_bins) * mask[:, None]
        self.counts.assign_add(ops.sum(in_bin, axis=0))
        self.correct.assign_add(ops.sum(in_bin * correct[:, None], axis=0))
        self.confidence.assign_add(ops.sum(in_bin * confidence[:, None], axis=0))

    def result(self):
        total = ops.sum(self.counts)
        gap = ops.sum(ops.abs(self.correct - self.confidence))
        return 100.0 * ops.divide_no_nan(gap, total)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins}


class TopOneAgreement(_SumMetric):
    """Percentage of examples where argmax(student) == argmax(teacher).

    update_state(teacher_logits, student_logits): the teacher takes the place
    of y_true."""

    def __init__(self, name="agreement", **kwargs):
        super().__init__(name=name, scale=100.0, **kwargs)

    def update_state(self, teacher_logits, student_logits, sample_weight=None):
        agree = ops.cast(
            ops.argmax(teacher_logits, axis=-1) == ops.argmax(student_logits, axis=-1), "float32"
        )
        self._accumulate(agree, ops.ones_like(agree))


class PredictiveKL(_SumMetric):
    """Mean over examples of KL(p_teacher || p_student) at temperature 1."""

    def __init__(self, name="kl", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, teacher_logits, student_logits, sample_weight=None):
        kl = kl_divergence(teacher_logits, student_logits)
        self._accumulate(kl, ops.ones_like(kl))


def kl_divergence(teacher_logits, student_logits):
    """Per-example KL(softmax(teacher) || softmax(student))."""
    log_p = ops.log_softmax(ops.cast(teacher_logits, "float32"), axis=-1)
    log_q = ops.log_softmax(ops.cast(student_logits, "float32"), axis=-1)
    return ops.sum(ops.exp(log_p) * (log_p - log_q), axis=-1)


def generalisation_metrics():
    """Metrics of a model against true labels."""
    return [Accuracy(), NegativeLogLikelihood(), ExpectedCalibrationError()]


def fidelity_metrics():
    """Metrics of a student against its teacher."""
    return [TopOneAgreement(), PredictiveKL()]
