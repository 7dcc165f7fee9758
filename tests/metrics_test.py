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


if __name__ == "__main__":
    absltest.main()
