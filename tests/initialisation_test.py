"""Student initialisation: interpolation with BN re-estimation, the
teacher's initial weights, and architecture checks."""

import os

import keras
import numpy as np
from absl.testing import absltest

from kd_tf.data.catalog import Properties, Split
from kd_tf.errors import UserError
from kd_tf.models.registry import build_model
from kd_tf.train import initialisation

PROPS = Properties(10, (32, 32, 3), hflip=True, crop_padding=4)


def _split(n=600, seed=0):
    """Uneven batches (500 + 100) and dark, skewed images: a plain average of
    batch means would differ from the mean over examples."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3)) * np.linspace(0.2, 1.0, n)[:, None, None, None]
    return Split(images.astype(np.uint8), rng.integers(0, 10, n))


def _pair(name="preresnet20"):
    keras.utils.set_random_seed(1)
    teacher = build_model(name, 10)
    keras.utils.set_random_seed(2)
    return build_model(name, 10), teacher


class InterpolateTest(absltest.TestCase):
    def test_lambda_mixes_every_trainable_weight(self):
        for lam in (0.0, 0.375, 1.0):
            student, teacher = _pair()
            random = [np.array(w) for w in student.trainable_weights]
            initialisation.initialise(student, "interpolate", teacher, init_lambda=lam, train_split=_split(),
                                      properties=PROPS)
            for s, t, r in zip(student.trainable_weights, teacher.trainable_weights, random):
                np.testing.assert_allclose(np.array(s), lam * np.array(t) + (1 - lam) * r, rtol=1e-5, atol=1e-6)

    def test_batch_norm_statistics_are_re_estimated(self):
        student, teacher = _pair()
        split = _split()
        initialisation.initialise(student, "interpolate", teacher, init_lambda=0.5, train_split=split,
                                  properties=PROPS)
        # The first BN sees conv1's output: its moving mean is that output's mean over the data.
        x = split.images.astype(np.float32) / 127.5 - 1.0
        conv1 = np.concatenate([np.asarray(student.conv1(x[i:i + 200])) for i in range(0, len(x), 200)])
        np.testing.assert_allclose(np.asarray(student.layer1[0].bn1.moving_mean), conv1.mean(axis=(0, 1, 2)),
                                   rtol=1e-4, atol=1e-5)
        self.assertEqual(student.layer1[0].bn1.momentum, 0.9)  # restored after the pass

    def test_lambda_is_required(self):
        student, teacher = _pair()
        with self.assertRaisesRegex(UserError, "--init_lambda"):
            initialisation.initialise(student, "interpolate", teacher, train_split=_split(), properties=PROPS)

    def test_architectures_must_match(self):
        keras.utils.set_random_seed(0)
        with self.assertRaisesRegex(UserError, "architecture"):
            initialisation.initialise(build_model("preresnet20", 10), "interpolate", build_model("preresnet56", 10),
                                      init_lambda=0.5, train_split=_split(), properties=PROPS)


class TeacherInitTest(absltest.TestCase):
    def test_student_starts_from_the_teachers_initial_weights(self):
        student, teacher = _pair("lenet5")
        keras.utils.set_random_seed(5)
        initial = build_model("lenet5", 10)
        path = os.path.join(self.create_tempdir().full_path, "member_0.init.weights.h5")
        initial.save_weights(path)
        initialisation.initialise(student, "teacher_init", teacher, teacher_init_weights=path)
        for s, w in zip(student.weights, initial.weights):
            np.testing.assert_array_equal(np.array(s), np.array(w))

    def test_missing_initial_weights(self):
        student, teacher = _pair("lenet5")
        with self.assertRaisesRegex(UserError, "initial weights"):
            initialisation.initialise(student, "teacher_init", teacher, teacher_init_weights="/nonexistent.h5")


if __name__ == "__main__":
    absltest.main()
