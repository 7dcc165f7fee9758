"""The exported SavedModel serves the same logits as the in-memory student."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest

from kd_tf.models.registry import build_model
from kd_tf.train import export


class ExportTest(absltest.TestCase):
    def test_saved_model_round_trip(self):
        keras.utils.set_random_seed(0)
        student = build_model("lenet5", 10)
        path = os.path.join(self.create_tempdir().full_path, "student")
        export.export_saved_model(student, path, (28, 28, 1))
        loaded = tf.saved_model.load(path)
        serve = loaded.signatures["serving_default"]
        x = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
        out = serve(images=tf.constant(x))
        expected = np.asarray(student(x))
        np.testing.assert_allclose(out["logits"].numpy(), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["probabilities"].numpy(), tf.nn.softmax(expected).numpy(), atol=1e-6)
        np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)

    def test_signature_accepts_any_batch_size(self):
        student = build_model("lenet5", 10)
        path = os.path.join(self.create_tempdir().full_path, "student")
        export.export_saved_model(student, path, (28, 28, 1))
        serve = tf.saved_model.load(path).signatures["serving_default"]
        for n in (1, 7):
            self.assertEqual(serve(images=tf.zeros((n, 28, 28, 1)))["logits"].shape, (n, 10))


if __name__ == "__main__":
    absltest.main()
