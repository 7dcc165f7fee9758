"""Data as the reference feeds it: data-recycling batches with a fixed share
of each split, D0 from a file, students' subsets equal to the teachers', GAN
samples with per-batch BatchNorm, the appendix's MNIST teacher and EMNIST
set, and IMDB tokenised by torchtext's basic_english."""

import os

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl.testing import absltest

import kd_tf  # noqa: F401  registers the SN-GAN with Keras, for loading
from kd_tf.config.distill import DistillConfig
from kd_tf.config.teachers import TeacherConfig
from kd_tf.data import distillation_set, generators, pipeline, sources, tfds_source
from kd_tf.data.stream_spec import StreamSpec, rows_per_part, steps_per_epoch
from kd_tf.errors import UserError
from kd_tf.jobs import distill as distill_job
from kd_tf.models.registry import build_model


def _batches(ds, count=None):
    return [tf.nest.map_structure(np.asarray, b) for b in ds.take(count or -1)]


class RecyclingTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = sources.load("mnist5k")

    def test_every_batch_takes_a_fixed_share_of_each_split(self):
        # The reference's DistillLoader: 64 rows of D0 and 64 of D1 in each batch of 128.
        data = distillation_set.build(self.data.train, 4.0, distillation_set.parse_splits("d0,d1", "1,4", 4.0))
        self.assertEqual(data.parts, (2000, 2000))
        spec = StreamSpec("baseline", 128, 0, 2)
        batches = _batches(pipeline.stream(data, self.data.properties, spec))
        self.assertLen(batches, 2 * steps_per_epoch(data.parts, spec))
        for batch in batches:
            np.testing.assert_array_equal(batch["temperature"], [1.0] * 64 + [4.0] * 64)

    def test_rows_per_part_follow_the_split_sizes(self):
        self.assertEqual(rows_per_part(128, (25000, 25000)), [64, 64])
        self.assertEqual(rows_per_part(103, (25000, 25000)), [51, 52])  # with 25 GAN rows, as the reference
        self.assertEqual(rows_per_part(128, (1000, 3000)), [32, 96])

    def test_split_indices_from_a_file(self):
        d0 = np.random.default_rng(5).choice(len(self.data.train), 1500, replace=False)
        path = os.path.join(self.create_tempdir().full_path, "d0.npy")
        np.save(path, d0)
        split = distillation_set.read_split_indices(path, len(self.data.train))
        halves = distillation_set.recycling_split(self.data.train, split)
        np.testing.assert_array_equal(halves["d0"].images, self.data.train.images[np.sort(d0)])
        self.assertLen(halves["d1"], len(self.data.train) - 1500)
        self.assertIn("d0.npy (sha256 ", split.describe())
        self.assertNotEqual(split.describe(), distillation_set.RecyclingSplit().describe())

    def test_bad_split_files_name_the_flag_and_the_problem(self):
        tmp = self.create_tempdir().full_path
        cases = {"floats.npy": np.zeros(3), "repeats.npy": np.array([1, 1, 2]), "range.npy": np.array([0, 99_999])}
        for name, array in cases.items():
            np.save(os.path.join(tmp, name), array)
        for name, message in (("floats.npy", "1-D integer"), ("repeats.npy", "repeats"), ("range.npy", "subset")):
            with self.assertRaisesRegex(UserError, f"--split_indices=.*{name}: .*{message}"):
                distillation_set.read_split_indices(os.path.join(tmp, name), 4000)
        with self.assertRaisesRegex(UserError, "does not exist"):
            distillation_set.read_split_indices(os.path.join(tmp, "missing.npy"), 4000)

    def test_a_students_fraction_is_the_teachers_subset_at_any_seed(self):
        # Fig 9: students distilled on the teachers' data see the teachers' examples.
        teachers = sources.stratified_subset(self.data.train, 1000, sources.SUBSET_SEED)
        for seed in (0, 3):
            config = DistillConfig(seed=seed, data_fraction=0.25, aug="none").resolved()
            data = distill_job.build_inputs(config, self.data, replicas=1).data
            np.testing.assert_array_equal(data.images, teachers.images)


class GeneratorBatchNormTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        keras.utils.set_random_seed(0)
        generator = build_model("sngan_generator", z_dim=16, width=8, output_size=28, channels=1)
        cls.bn_layers = [layer for layer in generator._flatten_layers(include_self=False, recursive=True)
                         if isinstance(layer, keras.layers.BatchNormalization)]
        for layer in cls.bn_layers:  # moving statistics far from any batch's
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.5, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 3.0, np.float32))
        cls.path = os.path.join(absltest.get_default_test_tmpdir(), "generator.keras")
        generator.save(cls.path)
        cls.z = tf.random.stateless_normal([25, 16], seed=[1, 2])

    def test_batch_mode_normalises_each_synthetic_batch_with_its_own_statistics(self):
        # The reference samples in training mode; a training-mode call also moves the
        # moving averages, so each comparison loads its own copy.
        reference = keras.saving.load_model(self.path)
        sampler = generators.load(self.path, "batch")
        np.testing.assert_allclose(np.asarray(sampler(self.z)), np.asarray(reference(self.z, training=True)),
                                   atol=1e-6)
        moving = generators.load(self.path, "moving")
        inference = keras.saving.load_model(self.path)
        np.testing.assert_allclose(np.asarray(moving(self.z)), np.asarray(inference(self.z, training=False)),
                                   atol=1e-6)
        self.assertGreater(np.abs(np.asarray(sampler(self.z)) - np.asarray(moving(self.z))).max(), 0.1)

    def test_sampling_in_the_pipeline_leaves_the_moving_statistics_alone(self):
        sampler = generators.load(self.path, "batch")
        mnist5k = sources.load("mnist5k")
        data = distillation_set.from_split(mnist5k.train.subset(np.arange(512)), 4.0)
        spec = StreamSpec("gan", 128, 0, 1, generator=sampler)
        first = _batches(pipeline.stream(data, mnist5k.properties, spec), 2)
        self.assertEqual(first[0]["image"].shape, (128, 28, 28, 1))
        for layer in sampler.model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, keras.layers.BatchNormalization):
                np.testing.assert_array_equal(np.asarray(layer.moving_mean), 0.5)
                np.testing.assert_array_equal(np.asarray(layer.moving_variance), 3.0)

    def test_a_saved_model_cannot_sample_with_batch_statistics(self):
        directory = os.path.join(self.create_tempdir().full_path, "generator")
        from kd_tf.train import export

        export.export_generator(keras.saving.load_model(self.path), directory)
        with self.assertRaisesRegex(UserError, "--generator_bn=moving"):
            generators.load(directory, "batch")
        self.assertEqual(generators.load(directory, "moving").z_dim, 16)


class MnistTest(absltest.TestCase):
    def test_the_appendix_teacher_recipe(self):
        config = TeacherConfig(dataset="mnist").resolved()
        self.assertEqual((config.train_size, config.epochs, config.batch_size, config.lr), (200, 100, 100, 0.05))
        recipe = config.training_recipe()
        self.assertEqual(steps_per_epoch(recipe.train_size, StreamSpec("baseline", recipe.batch_size, 0, 1)), 2)

    def test_the_mnist_teacher_trains_on_200_examples(self):
        from kd_tf.jobs import teachers

        with tfds.testing.mock_data(num_examples=300):
            dataset = sources.load("mnist")
        config = TeacherConfig(dataset="mnist", epochs=1).resolved()
        spec = teachers.EnsembleSpec("lenet5", config.training_recipe())
        manifest = teachers.ensure_ensemble(self.create_tempdir().full_path, dataset, spec, 1,
                                            tf.distribute.get_strategy())
        self.assertEqual(manifest.recipe["train_size"], 200)
        self.assertEqual(manifest.recipe_name, "paper")

    def test_emnist_for_mnist(self):
        with tfds.testing.mock_data(num_examples=40):
            stored = sources.load("emnist_for_mnist")
            upright = sources.load("emnist_for_mnist", emnist_upright=True)
            mnist_test = sources.load("mnist").test
        self.assertEqual(stored.properties.num_classes, 10)
        np.testing.assert_array_equal(stored.train.labels, -1)  # no MNIST labels
        np.testing.assert_array_equal(stored.test.images, mnist_test.images)  # evaluated on MNIST's test set
        np.testing.assert_array_equal(stored.test.labels, mnist_test.labels)
        np.testing.assert_array_equal(upright.train.images, np.transpose(stored.train.images, (0, 2, 1, 3)))
        config = DistillConfig(dataset="emnist_for_mnist").resolved()
        self.assertEqual(config.teacher_dir, os.path.join("runs", "teachers", "mnist-lenet5"))
        self.assertEqual(config.teacher_recipe_for_new_members().train_size, 200)


class ImdbTokensTest(absltest.TestCase):
    def test_basic_english_makes_punctuation_tokens(self):
        self.assertEqual(tfds_source.basic_english("You can now install TorchText using pip!"),
                         ["you", "can", "now", "install", "torchtext", "using", "pip", "!"])
        self.assertEqual(
            tfds_source.basic_english('I didn\'t like it.<br />It\'s (really) BAD: 2/10; "awful", no?'),
            ["i", "didn", "'", "t", "like", "it", ".", "it", "'", "s", "(", "really", ")", "bad", "2/10", "awful",
             ",", "no", "?"])
        self.assertEqual(tfds_source.basic_english(b"Fine."), ["fine", "."])

    def test_vocabulary_order_and_encoding(self):
        reviews = [["b", "a", "!", "b"], ["a", "b", "c"], ["!", "b"]]
        vocabulary = tfds_source.imdb_vocabulary(reviews, min_count=2)
        self.assertEqual(vocabulary, {"b": 2, "!": 3, "a": 4})  # by count, ties alphabetical; 0 pad, 1 unknown
        self.assertEqual(tfds_source.encode(["a", "c", "b"], vocabulary, length=5), [4, 1, 2, 0, 0])
        self.assertEqual(tfds_source.encode(["b"] * 9, vocabulary, length=4), [2, 2, 2, 2])

    def test_punctuation_counts_toward_the_100_tokens(self):
        with tfds.testing.mock_data(num_examples=20):
            data = tfds_source.load_imdb(min_count=1)
        self.assertEqual(data.train.images.shape, (20, 100))
        self.assertEqual(DistillConfig(dataset="imdb_reviews").resolved().temperature, 1.0)


if __name__ == "__main__":
    absltest.main()
