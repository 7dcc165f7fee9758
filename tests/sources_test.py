"""Data sources: the embedded mnist5k split, TFDS loading under mock_data, and
the fail-fast message for a dataset that is not prepared."""

import time

import numpy as np
import tensorflow_datasets as tfds
from absl.testing import absltest

from kd_tf.config import choices
from kd_tf.data import catalog, sources
from kd_tf.errors import DatasetNotAvailableError


class Mnist5kTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = sources.load("mnist5k")

    def test_sizes_and_stratification(self):
        self.assertEqual(self.data.train.images.shape, (4000, 28, 28, 1))
        self.assertEqual(self.data.test.images.shape, (1000, 28, 28, 1))
        self.assertEqual(self.data.train.images.dtype, np.uint8)
        np.testing.assert_array_equal(np.bincount(self.data.train.labels), [400] * 10)
        np.testing.assert_array_equal(np.bincount(self.data.test.labels), [100] * 10)

    def test_train_and_test_are_disjoint(self):
        train = {img.tobytes() for img in self.data.train.images}
        overlap = sum(img.tobytes() in train for img in self.data.test.images)
        self.assertEqual(overlap, 0)

    def test_split_is_deterministic(self):
        again = sources.load("mnist5k")
        np.testing.assert_array_equal(again.train.images, self.data.train.images)
        np.testing.assert_array_equal(again.test.labels, self.data.test.labels)

    def test_real_digits(self):
        # Real MNIST: dark background, bright strokes, mean intensity ~ 0.13.
        mean = self.data.train.images.mean() / 255
        self.assertBetween(mean, 0.08, 0.2)

    def test_stratified_subset(self):
        sub = sources.stratified_subset(self.data.train, 1000, seed=0)
        np.testing.assert_array_equal(np.bincount(sub.labels), [100] * 10)
        again = sources.stratified_subset(self.data.train, 1000, seed=0)
        np.testing.assert_array_equal(sub.images, again.images)


class TfdsTest(absltest.TestCase):
    def test_choices_match_properties(self):
        self.assertEqual(set(choices.DATASETS), set(catalog.PROPERTIES))

    def test_missing_dataset_fails_fast_with_instructions(self):
        data_dir = self.create_tempdir().full_path
        start = time.time()
        with self.assertRaises(DatasetNotAvailableError) as ctx:
            sources.load("cifar100", data_dir=data_dir)
        self.assertLess(time.time() - start, 30)
        message = str(ctx.exception)
        self.assertIn("'cifar100'", message)
        self.assertIn(f"tfds build cifar100 --data_dir={data_dir}", message)

    def test_loads_through_tfds(self):
        with tfds.testing.mock_data(num_examples=12):
            data = sources.load("cifar10")
        self.assertEqual(data.train.images.shape, (12, 32, 32, 3))
        self.assertEqual(data.train.images.dtype, np.uint8)
        self.assertEqual(data.properties.num_classes, 10)
        self.assertTrue(np.all((data.test.labels >= 0) & (data.test.labels < 10)))

    def test_unknown_dataset(self):
        with self.assertRaisesRegex(ValueError, "cifar100"):
            sources.load("imagenet9")


if __name__ == "__main__":
    absltest.main()
