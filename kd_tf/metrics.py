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


def spatial_mean(activations):
    """[batch, ..., channels] -> [batch, channels]: a stage's output averaged
    over its spatial positions, as the reference's preact_cka does first."""
    rank = len(activations.shape)
    return activations if rank == 2 else ops.mean(activations, axis=tuple(range(1, rank - 1)))


class LinearCKA(keras.metrics.Metric):
    """Linear CKA (Kornblith et al., 2019) of two layers' (spatially averaged)
    activations over every example seen. It keeps the sums of the
    activations and of their cross-products (in float64), so that the result
    over batches equals CKA on all examples at once, whatever the batching."""

    def __init__(self, x_features, y_features, name="linear_cka", **kwargs):
        super().__init__(name=name, **kwargs)
        variable = lambda shape, name: self.add_variable(shape=shape, initializer="zeros", dtype="float64", name=name)
        self.count = variable((), "count")
        self.sum_x, self.sum_y = variable((x_features,), "sum_x"), variable((y_features,), "sum_y")
        self.xx = variable((x_features, x_features), "xx")
        self.yy = variable((y_features, y_features), "yy")
        self.xy = variable((x_features, y_features), "xy")

    def update_state(self, x, y, sample_weight=None):
        x = ops.cast(spatial_mean(x), "float64")
        y = ops.cast(spatial_mean(y), "float64")
        self.count.assign_add(ops.cast(ops.shape(x)[0], "float64"))
        self.sum_x.assign_add(ops.sum(x, axis=0))
        self.sum_y.assign_add(ops.sum(y, axis=0))
        self.xx.assign_add(ops.matmul(ops.transpose(x), x))
        self.yy.assign_add(ops.matmul(ops.transpose(y), y))
        self.xy.assign_add(ops.matmul(ops.transpose(x), y))

    def result(self):
        n = ops.maximum(self.count, 1.0)

        def centred(cross, a, b):  # the centred cross-product, sum_i (a_i - mean a)(b_i - mean b)^T
            return cross - ops.outer(a, b) / n

        xy = centred(self.xy, self.sum_x, self.sum_y)
        xx = centred(self.xx, self.sum_x, self.sum_x)
        yy = centred(self.yy, self.sum_y, self.sum_y)
        return ops.cast(ops.sum(xy * xy) / ops.sqrt(ops.sum(xx * xx) * ops.sum(yy * yy)), "float32")


def _median_of_nonzero(values):
    """numpy's median of the nonzero entries (the mean of the middle two of an
    even count); NaN, as numpy's, where every entry is zero (a dead layer)."""
    values = ops.sort(ops.reshape(values, (-1,)))
    size = ops.shape(values)[0]
    zeros = ops.sum(ops.cast(values == 0, "int32"))
    count = size - zeros
    low = ops.minimum(zeros + ops.maximum(count - 1, 0) // 2, size - 1)
    high = ops.minimum(zeros + count // 2, size - 1)
    median = (ops.take(values, low) + ops.take(values, high)) / 2
    return ops.where(count > 0, median, ops.cast(float("nan"), median.dtype))


def _centred_rbf_gram(rows):
    """The reference's rbf() (cka/CKA.py), sigma the median distance, centred: H K H."""
    gram = ops.matmul(rows, ops.transpose(rows))
    diagonal = ops.diagonal(gram)
    distances = diagonal[None, :] - gram + ops.transpose(diagonal[None, :] - gram)
    kernel = ops.exp(-0.5 * distances / _median_of_nonzero(distances))
    kernel = kernel - ops.mean(kernel, axis=0, keepdims=True)
    return kernel - ops.mean(kernel, axis=1, keepdims=True)


def reference_cka(x, y):
    """The reference's per-batch CKA (gnosis/utils/metrics.py, preact_cka):
    kernel_CKA with an RBF kernel (median sigma) on the TRANSPOSED spatially
    averaged activations, [channels, batch], so that it compares channels
    across the batch's examples, not examples; it needs as many channels in x
    as in y. The reference averages it over its test loader's batches."""
    kx = _centred_rbf_gram(ops.transpose(ops.cast(spatial_mean(x), "float64")))
    ky = _centred_rbf_gram(ops.transpose(ops.cast(spatial_mean(y), "float64")))
    return ops.cast(ops.sum(kx * ky) / ops.sqrt(ops.sum(kx * kx) * ops.sum(ky * ky)), "float32")
