"""kd_tf.metrics against direct numpy computations."""

import numpy as np
from absl.testing import absltest

from kd_tf import metrics
from tests import numpy_reference as ref


def _stream(metric, a, b, batch=37):
    """Feeds the metric in uneven batches, to test the pooling too."""
    for start in range(0, len(a), batch):
        metric.update_state(a[start:start + batch], b[start:start + batch])
    return float(metric.result())


class MetricsTest(absltest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        self.n, self.c = 500, 10
        self.labels = rng.integers(0, self.c, self.n)
        # Logits of varied confidence, correlated with the labels.
        self.logits = rng.normal(size=(self.n, self.c)) * rng.uniform(0.1, 5, (self.n, 1))
        self.logits[np.arange(self.n), self.labels] += rng.uniform(0, 3, self.n)
        self.other = self.logits + rng.normal(size=(self.n, self.c))

    def test_accuracy(self):
        self.assertAlmostEqual(_stream(metrics.Accuracy(), self.labels, self.logits),
                               ref.accuracy(self.labels, self.logits), places=3)

    def test_nll_is_the_true_nll(self):
        self.assertAlmostEqual(_stream(metrics.NegativeLogLikelihood(), self.labels, self.logits),
                               ref.nll(self.labels, self.logits), places=4)

    def test_ece_ten_bins(self):
        self.assertAlmostEqual(_stream(metrics.ExpectedCalibrationError(), self.labels, self.logits),
                               ref.ece(self.labels, self.logits), places=3)

    def test_ece_bin_edges_are_right_closed(self):
        # Confidence exactly 0.5 belongs to bin (0.4, 0.5], not (0.5, 0.6].
        logits = np.log(np.array([[0.5, 0.5 - 1e-7, 1e-7]], np.float32))
        m = metrics.ExpectedCalibrationError()
        m.update_state(np.array([0]), logits)
        self.assertEqual(int(np.argmax(np.asarray(m.counts))), 4)

    def test_agreement(self):
        self.assertAlmostEqual(_stream(metrics.TopOneAgreement(), self.logits, self.other),
                               ref.agreement(self.logits, self.other), places=3)

    def test_kl(self):
        self.assertAlmostEqual(_stream(metrics.PredictiveKL(), self.logits, self.other),
                               ref.kl(self.logits, self.other), places=4)

    def test_kl_of_identical_predictions_is_zero(self):
        self.assertAlmostEqual(_stream(metrics.PredictiveKL(), self.logits, self.logits), 0.0, places=5)

    def test_unlabelled_rows_are_skipped(self):
        labels = self.labels.copy()
        labels[::2] = -1
        keep = labels >= 0
        self.assertAlmostEqual(_stream(metrics.Accuracy(), labels, self.logits),
                               ref.accuracy(self.labels[keep], self.logits[keep]), places=3)
        self.assertAlmostEqual(_stream(metrics.NegativeLogLikelihood(), labels, self.logits),
                               ref.nll(self.labels[keep], self.logits[keep]), places=4)
        self.assertAlmostEqual(_stream(metrics.ExpectedCalibrationError(), labels, self.logits),
                               ref.ece(self.labels[keep], self.logits[keep]), places=3)

    def test_reset(self):
        m = metrics.Accuracy()
        m.update_state(self.labels, self.logits)
        m.reset_state()
        m.update_state(self.labels[:10], self.logits[:10])
        self.assertAlmostEqual(float(m.result()), ref.accuracy(self.labels[:10], self.logits[:10]), places=3)


class CkaTest(absltest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        # Stage outputs [batch, h, w, channels]: y a noisy linear map of x, so CKA is high but below 1.
        self.x = rng.normal(size=(300, 4, 4, 16)).astype("float32")
        mix = rng.normal(size=(16, 16)).astype("float32")
        self.y = (self.x @ mix + rng.normal(size=self.x.shape) * 2).astype("float32")
        self.avg_x, self.avg_y = self.x.mean(axis=(1, 2)), self.y.mean(axis=(1, 2))

    def test_linear_cka_over_batches_equals_numpy_on_all_examples(self):
        metric = metrics.LinearCKA(16, 16)
        for start in range(0, 300, 128):  # uneven batches, the last partial
            metric.update_state(self.x[start:start + 128], self.y[start:start + 128])
        expected = ref.linear_cka(self.avg_x.astype("float64"), self.avg_y.astype("float64"))
        self.assertAlmostEqual(float(metric.result()), expected, places=5)
        self.assertGreater(expected, 0.3)
        self.assertLess(expected, 0.99)

    def test_a_dead_layer_gives_nan_not_an_error(self):
        # Every channel's spatial mean the same (a collapsed student): no nonzero distance, as np.median([]).
        dead = np.zeros_like(self.x[:128])
        self.assertTrue(np.isnan(float(metrics.reference_cka(self.x[:128], dead))))
        metric = metrics.LinearCKA(16, 16)
        metric.update_state(self.x[:128], dead)
        self.assertTrue(np.isnan(float(metric.result())))

    def test_linear_cka_invariances(self):
        def cka(a, b):
            metric = metrics.LinearCKA(a.shape[-1], b.shape[-1])
            metric.update_state(a, b)
            return float(metric.result())

        self.assertAlmostEqual(cka(self.avg_x, self.avg_x), 1.0, places=5)
        rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(16, 16)))
        rotated = (self.avg_y @ rotation * 3.0 + 5.0).astype("float32")  # orthogonal map, scale, shift
        self.assertAlmostEqual(cka(self.avg_x, rotated), cka(self.avg_x, self.avg_y), places=5)
        # Different widths (a student unlike its teacher).
        self.assertAlmostEqual(cka(self.avg_x, self.avg_y[:, :5]),
                               ref.linear_cka(self.avg_x.astype("float64"), self.avg_y[:, :5].astype("float64")),
                               places=5)
        # Independent activations: near 0.
        noise = np.random.default_rng(2).normal(size=(3000, 16)).astype("float32")
        other = np.random.default_rng(3).normal(size=(3000, 16)).astype("float32")
        self.assertLess(cka(noise, other), 0.02)

    def test_reference_cka_is_the_reference_kernel_cka_of_transposed_activations(self):
        batch_x, batch_y = self.x[:128], self.y[:128]
        expected = ref.rbf_cka(batch_x.mean(axis=(1, 2)).T.astype("float64"),
                               batch_y.mean(axis=(1, 2)).T.astype("float64"))
        self.assertAlmostEqual(float(metrics.reference_cka(batch_x, batch_y)), expected, places=5)
        self.assertAlmostEqual(float(metrics.reference_cka(batch_x, batch_x)), 1.0, places=5)
        # Four channels (c * (c - 1) nonzero distances is always even: the median averages the middle two).
        self.assertAlmostEqual(float(metrics.reference_cka(batch_x[:, :, :, :4], batch_y[:, :, :, :4])),
                               ref.rbf_cka(batch_x[:, :, :, :4].mean(axis=(1, 2)).T.astype("float64"),
                                           batch_y[:, :, :, :4].mean(axis=(1, 2)).T.astype("float64")), places=5)


if __name__ == "__main__":
    absltest.main()
