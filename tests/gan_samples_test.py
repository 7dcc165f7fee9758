"""--gan_samples: a static set of SN-GAN samples added to the distillation
data, the same images however many are asked for (a prefix) and on every
rerun, stored with the run and read back by a resumed one."""

import dataclasses

import numpy as np
import tensorflow as tf
from absl.testing import absltest

from kd_tf.config.distill import DistillConfig
from kd_tf.data import gan_samples, generators, sources
from kd_tf.errors import UserError
from kd_tf.jobs import distill as distill_job
from kd_tf.train import storage


def tiny_generator():
    dense = tf.keras.layers.Dense(28 * 28, kernel_initializer=tf.keras.initializers.RandomNormal(seed=1))
    return generators.Generator(lambda z: tf.reshape(tf.tanh(dense(z)), [-1, 28, 28, 1]), 8, (28, 28, 1), "tiny")


class GanSamplesTest(absltest.TestCase):
    def test_seeded_prefix_of_a_larger_set(self):
        generator = tiny_generator()
        small, large = gan_samples.generate(generator, 700), gan_samples.generate(generator, 1200)
        self.assertEqual(small.shape, (700, 28, 28, 1))
        self.assertEqual(small.dtype, np.uint8)
        np.testing.assert_array_equal(small, large[:700])
        np.testing.assert_array_equal(small, gan_samples.generate(generator, 700))
        self.assertGreater(small.std(), 10)  # images, not a constant
        self.assertFalse(np.array_equal(small[:200], small[500:700]))  # batches draw their own z

    def test_the_distillation_set_holds_train_then_the_stored_samples(self):
        dataset = sources.load("mnist5k", None)
        config = DistillConfig(aug="baseline", gan_samples=300, epochs=1).resolved()
        path = self.create_tempdir().full_path + "/gan_samples.npz"
        stored = gan_samples.generate(tiny_generator(), 300)
        storage.save_npz(path, images=stored)
        data = distill_job.build_inputs(config, dataset, replicas=1, samples_path=path).data
        self.assertLen(data, len(dataset.train) + 300)
        np.testing.assert_array_equal(data.images[len(dataset.train):], stored)
        np.testing.assert_array_equal(data.labels[len(dataset.train):], -1)  # no true class
        self.assertTrue(np.all(data.labels[:len(dataset.train)] >= 0))
        with self.assertRaisesRegex(UserError, "holds 300 SN-GAN samples, not --gan_samples=400"):
            distill_job.build_inputs(dataclasses.replace(config, gan_samples=400), dataset, 1, samples_path=path)

    def test_refused_with_data_recycling(self):
        config = DistillConfig(aug="baseline", gan_samples=10, distill_splits="d0").resolved()
        with self.assertRaisesRegex(UserError, "--gan_samples .* does not combine"):
            distill_job.build_inputs(config, sources.load("mnist5k", None), replicas=1)


if __name__ == "__main__":
    absltest.main()
