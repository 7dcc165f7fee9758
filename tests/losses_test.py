"""The KD loss and the label term, against numpy; and the tau = 1 gradient
identity with KL(t || s)."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.distill import losses
from kd_tf.distill.ensemble import ensemble_logits
from kd_tf.metrics import kl_divergence
from tests import numpy_reference as ref
from tests import reference_losses


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

    @parameterized.parameters(1.0, 4.0)
    def test_reverse_cross_entropy(self, tau):
        expected = -(tau ** 2) * np.sum(ref.softmax(self.s / tau) * ref.tempered_log_softmax(self.t, tau), -1)
        np.testing.assert_allclose(losses.reverse_cross_entropy(self.t, self.s, tau), expected, rtol=1e-5, atol=1e-5)

    @parameterized.parameters(1.0, 4.0)
    def test_kl_without_tau_squared(self, tau):
        expected = ref.kl_rows(ref.tempered_log_softmax(self.t, tau), ref.tempered_log_softmax(self.s, tau))
        np.testing.assert_allclose(losses.kl_teacher_student(self.t, self.s, tau), expected, rtol=1e-5, atol=1e-6)

    def test_symmetric_kl_has_no_half(self):
        lt, ls = ref.tempered_log_softmax(self.t, 2.0), ref.tempered_log_softmax(self.s, 2.0)
        expected = ref.kl_rows(lt, ls) + ref.kl_rows(ls, lt)
        np.testing.assert_allclose(losses.symmetric_kl(self.t, self.s, 2.0), expected, rtol=1e-5, atol=1e-6)

    def test_member_averaged_symmetric_kl(self):
        members = np.random.default_rng(3).normal(size=(3, 16, 7)).astype(np.float32)
        expected = np.mean([np.asarray(losses.symmetric_kl(m, self.s, 4.0)) for m in members], axis=0)
        np.testing.assert_allclose(losses.member_averaged_symmetric_kl(members, self.s, 4.0), expected, rtol=1e-5)
        # Not the same as the symmetric KL to the ensemble.
        self.assertFalse(np.allclose(expected, losses.symmetric_kl(ensemble_logits(members), self.s, 4.0)))

    def test_brier(self):
        expected = np.mean((ref.softmax(self.t / 4.0) - ref.softmax(self.s / 4.0)) ** 2, -1)
        np.testing.assert_allclose(losses.brier(self.t, self.s, 4.0), expected, rtol=1e-5, atol=1e-8)

    def test_hard_labels_argmax_and_samples_at_the_temperature(self):
        seed = keras.random.SeedGenerator(0)
        np.testing.assert_array_equal(losses.hard_labels(self.t, seed), np.argmax(self.t, -1))
        logits = np.tile(np.log([[0.7, 0.2, 0.1]]), (20_000, 1)).astype(np.float32)
        for tau in (1.0, 4.0):  # the reference samples from softmax(z_t / tau)
            sampled = np.asarray(losses.hard_labels(logits, seed, sample=True, temperature=tau))
            np.testing.assert_allclose(np.bincount(sampled, minlength=3) / len(sampled),
                                       ref.softmax(np.log([0.7, 0.2, 0.1]) / tau), atol=0.015)

    @parameterized.parameters((128, 0.3), (128, 0.1), (16, 0.5), (7, 0.1))
    def test_corruption_draws_exactly_int_batch_times_ratio_rows(self, rows, ratio):
        confident = np.tile(np.array([[30.0] + [0.0] * 99], np.float32), (rows, 1))
        draws = int(rows * ratio)
        changed = []
        for trial in range(200):
            labels = np.asarray(losses.hard_labels(confident, keras.random.SeedGenerator(trial), corruption=ratio))
            changed.append(int((labels != 0).sum()))
        # Draws with replacement, each a uniform class (1% keep class 0): at most
        # `draws` rows change, and on average draws * (1 - 1/100) * (distinct-row factor).
        self.assertLessEqual(max(changed), draws)
        expected = rows * (1 - (1 - 1 / rows) ** draws) * 0.99
        self.assertAlmostEqual(np.mean(changed), expected, delta=0.05 * max(expected, 1) + 0.1)

    def test_hard_cross_entropy_has_tau_squared_and_the_temperature(self):
        labels = np.argmax(self.t, -1).astype(np.int32)
        for tau in (1.0, 4.0, np.linspace(1, 4, 16).astype(np.float32)):
            got = np.asarray(losses.hard_cross_entropy(labels, self.s, tau)).mean()
            np.testing.assert_allclose(got, reference_losses.hard_cross_ent(self.t, self.s, tau), rtol=1e-5)

    def test_flag_choices_are_the_implemented_losses(self):
        from kd_tf.config import choices

        self.assertEqual(set(choices.LOSSES), set(losses.LOSSES))
        self.assertEqual(set(choices.SOFT_LOSSES), set(losses.SOFT_LOSSES))

    def test_cvx_hard_weight_is_the_references_beta(self):
        # beta = 1, 5 epochs: 1, 0.8, 0.6, 0.4, 0.2 (the last epoch keeps 1/epochs).
        np.testing.assert_allclose([float(losses.cvx_hard_weight(e, 5)) for e in range(6)],
                                   [1.0, 0.8, 0.6, 0.4, 0.2, 0.0], atol=1e-7)
        np.testing.assert_allclose(float(losses.cvx_hard_weight(3, 4, beta=0.5)), 0.125, atol=1e-7)

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
