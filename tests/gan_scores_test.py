"""FID and IS math against closed forms."""

import numpy as np
from absl.testing import absltest

from kd_tf.gan import scores


class FidTest(absltest.TestCase):
    def test_a_set_with_itself_is_zero(self):
        features = np.random.default_rng(0).normal(size=(500, 16))
        self.assertAlmostEqual(scores.fid(features, features), 0.0, places=6)

    def test_closed_form_for_two_gaussians(self):
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
        s1, s2 = a @ a.T + np.eye(4), b @ b.T + np.eye(4)
        mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
        # Tr((S1 S2)^(1/2)) through the symmetric form S1^(1/2) S2 S1^(1/2).
        w, v = np.linalg.eigh(s1)
        root1 = v @ np.diag(np.sqrt(w)) @ v.T
        inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
        expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(inner))
        self.assertAlmostEqual(scores.frechet_distance(mu1, s1, mu2, s2), expected, places=8)

    def test_commuting_diagonal_case(self):
        # Diagonal covariances: FID = |mu1-mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
        s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
        expected = 3.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2
        self.assertAlmostEqual(scores.frechet_distance(np.zeros(3), s1, np.ones(3), s2), expected, places=8)

    def test_shifted_samples(self):
        rng = np.random.default_rng(2)
        features = rng.normal(size=(20_000, 3))
        self.assertAlmostEqual(scores.fid(features, features + 2.0), 12.0, delta=0.1)


class InceptionScoreTest(absltest.TestCase):
    def test_uniform_predictions_score_one(self):
        mean, _ = scores.inception_score(np.full((100, 10), 0.1), splits=5)
        self.assertAlmostEqual(mean, 1.0, places=6)

    def test_confident_balanced_predictions_score_the_class_count(self):
        probs = np.eye(10)[np.arange(1000) % 10]
        mean, std = scores.inception_score(probs, splits=10)
        self.assertAlmostEqual(mean, 10.0, places=4)
        self.assertAlmostEqual(std, 0.0, places=4)


if __name__ == "__main__":
    absltest.main()
