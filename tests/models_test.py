"""LeNet-5: the reference's parameter count, shapes, initialisation, and a
.keras round trip."""

import os

import keras
import numpy as np
from absl.testing import absltest

from kd_tf import choices
from kd_tf.models import ARCHITECTURES, build_model


class LeNetTest(absltest.TestCase):
    def test_registry_matches_flag_choices(self):
        self.assertEqual(set(ARCHITECTURES), set(choices.ARCHITECTURES))

    def test_parameter_count_matches_reference(self):
        model = build_model("lenet5", 10)
        self.assertEqual(sum(int(np.prod(w.shape)) for w in model.trainable_weights), 61_706)

    def test_output_shape(self):
        model = build_model("lenet5", 10)
        self.assertEqual(tuple(model(np.zeros((3, 28, 28, 1), np.float32)).shape), (3, 10))

    def test_layer_shapes_follow_the_reference(self):
        model = build_model("lenet5", 10)
        self.assertEqual(tuple(model.conv1.kernel.shape), (5, 5, 1, 6))
        self.assertEqual(tuple(model.conv2.kernel.shape), (5, 5, 6, 16))
        self.assertEqual(tuple(model.fc1.kernel.shape), (400, 120))
        self.assertEqual(tuple(model.fc3.kernel.shape), (84, 10))

    def test_pytorch_default_initialisation_bounds(self):
        keras.utils.set_random_seed(0)
        model = build_model("lenet5", 10)
        for layer, fan_in in ((model.conv1, 25), (model.conv2, 150), (model.fc1, 400), (model.fc2, 120)):
            bound = 1 / np.sqrt(fan_in)
            for w in (np.asarray(layer.kernel), np.asarray(layer.bias)):
                self.assertLessEqual(np.abs(w).max(), bound + 1e-7)
            # U[-b, b] over >= 150 draws: the largest is near the bound, the spread uniform.
            kernel = np.asarray(layer.kernel)
            self.assertGreater(np.abs(kernel).max(), 0.9 * bound)
            self.assertAlmostEqual(kernel.std() / (bound / np.sqrt(3)), 1.0, delta=0.2)

    def test_seeds_give_different_members(self):
        keras.utils.set_random_seed(0)
        a = build_model("lenet5", 10)
        keras.utils.set_random_seed(1)
        b = build_model("lenet5", 10)
        self.assertFalse(np.allclose(np.asarray(a.fc1.kernel), np.asarray(b.fc1.kernel)))

    def test_keras_file_round_trip(self):
        model = build_model("lenet5", 10)
        path = os.path.join(self.create_tempdir().full_path, "m.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        x = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6, atol=1e-6)

    def test_unknown_architecture(self):
        with self.assertRaisesRegex(ValueError, "lenet5"):
            build_model("resnet9000", 10)


if __name__ == "__main__":
    absltest.main()
