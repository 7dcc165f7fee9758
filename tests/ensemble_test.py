"""The ensemble reduction: log of the mean member probability."""

import keras
import numpy as np
from absl.testing import absltest

from kd_tf.distill.ensemble import TeacherEnsemble, ensemble_logits
from tests import numpy_reference as ref


class EnsembleTest(absltest.TestCase):
    def test_log_mean_probability(self):
        members = np.random.default_rng(0).normal(size=(5, 8, 10)).astype(np.float32) * 4
        got = np.asarray(ensemble_logits(members))
        np.testing.assert_allclose(np.exp(got), ref.ensemble_probs(members), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.exp(got).sum(-1), 1.0, rtol=1e-5)

    def test_single_member_is_its_log_softmax(self):
        z = np.random.default_rng(1).normal(size=(1, 4, 3)).astype(np.float32)
        np.testing.assert_allclose(np.asarray(ensemble_logits(z)), ref.log_softmax(z[0]), rtol=1e-5, atol=1e-6)

    def test_ensemble_model_is_frozen_and_combines_members(self):
        members = []
        for seed in range(3):
            keras.utils.set_random_seed(seed)
            members.append(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
        ensemble = TeacherEnsemble(members)
        x = np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32)
        expected = ref.ensemble_probs([np.asarray(m(x)) for m in members])
        np.testing.assert_allclose(np.exp(np.asarray(ensemble(x))), expected, rtol=1e-5)
        self.assertEqual(ensemble.trainable_weights, [])
        self.assertEqual(ensemble.num_members, 3)

    def test_empty_ensemble_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "at least one member"):
            TeacherEnsemble([])


if __name__ == "__main__":
    absltest.main()
