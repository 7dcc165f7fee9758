"""The KD loss and the label term, against numpy; and the tau = 1 gradient
identity with KL(t || s)."""

import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.distill import losses
from kd_tf.metrics import kl_divergence
from tests import numpy_reference as ref


class KdLossTest(parameterized.TestCase):
    def setUp(self):
        rng = np.random.default_rng(1)
        self.t = rng.normal(size=(16, 7)).astype(np.float32) * 3
        self.s = rng.normal(size=(16, 7)).astype(np.float32) * 3

    @parameterized.parameters(1.0, 4.0, 0.5)
    def test_matches_numpy_with_tau_squared(self, tau):
        got = np.asarray(losses.kd_cross_entropy(self.t, self.s, tau))
        np.testing.assert_allclose(got, ref.kd_loss(self.t, self.s, tau), rtol=1e-5, atol=1e-5)

    def test_per_row_temperature(self):
        tau = np.linspace(0.5, 8, 16).astype(np.float32)
        got = np.asarray(losses.kd_cross_entropy(self.t, self.s, tau))
        np.testing.assert_allclose(got, ref.kd_loss(self.t, self.s, tau), rtol=1e-5, atol=1e-5)

    def test_at_tau_one_equals_kl_plus_teacher_entropy(self):
        pt = ref.softmax(self.t)
        entropy = -np.sum(pt * ref.log_softmax(self.t), -1)
        kl_per_row = np.sum(pt * (ref.log_softmax(self.t) - ref.log_softmax(self.s)), -1)
        got = np.asarray(losses.kd_cross_entropy(self.t, self.s, 1.0))
        np.testing.assert_allclose(got, kl_per_row + entropy, rtol=1e-5, atol=1e-5)

    def test_gradient_at_tau_one_equals_kl_gradient(self):
        s = tf.Variable(self.s)
        with tf.GradientTape(persistent=True) as tape:
            kd = tf.reduce_mean(losses.kd_cross_entropy(self.t, s, 1.0))
            kl = tf.reduce_mean(kl_divergence(self.t, s))
        np.testing.assert_allclose(tape.gradient(kd, s), tape.gradient(kl, s), rtol=1e-5, atol=1e-6)

    def test_label_cross_entropy_masks_unlabelled_rows(self):
        labels = np.array([0, -1, 3, -1] * 4)
        ce, mask = losses.label_cross_entropy(labels, self.s)
        ce, mask = np.asarray(ce), np.asarray(mask)
        np.testing.assert_array_equal(mask, labels >= 0)
        self.assertTrue(np.all(ce[labels < 0] == 0))
        keep = labels >= 0
        np.testing.assert_allclose(ce[keep].mean(), ref.nll(labels[keep], self.s[keep]), rtol=1e-5)


if __name__ == "__main__":
    absltest.main()
