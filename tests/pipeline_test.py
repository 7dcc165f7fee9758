"""The tf.data pipeline: static shapes, ranges, the in-graph mixup stage, and
reproducibility from the seed."""

import dataclasses

import numpy as np
import tensorflow as tf
from absl.testing import absltest
from scipy import stats

from kd_tf import choices
from kd_tf.data import batch_ops, pipeline, policies, sources


def _batches(ds, count=None):
    return [tf.nest.map_structure(np.asarray, b) for b in ds.take(count or -1)]


class PipelineTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = sources.load("mnist5k")
        cls.props = data.properties
        cls.split = data.train.subset(np.arange(256))

    def stream(self, policy="mixup", seed=0, epochs=2, start_epoch=0, props=None):
        return pipeline.distillation_dataset(self.split, props or self.props, policy, 64, seed, epochs,
                                             temperature=4.0, start_epoch=start_epoch)

    def test_policy_choices_are_implemented(self):
        self.assertEqual(set(choices.POLICIES), set(policies.EXAMPLE_POLICIES))

    def test_static_shapes_and_fields(self):
        spec = self.stream().element_spec
        self.assertEqual(spec["image"].shape.as_list(), [64, 28, 28, 1])
        self.assertEqual(spec["label"].shape.as_list(), [64])
        self.assertEqual(spec["temperature"].shape.as_list(), [64])
        self.assertEqual(int(self.stream().cardinality()), 2 * 4)

    def test_range_and_temperature(self):
        for batch in _batches(self.stream()):
            self.assertGreaterEqual(batch["image"].min(), -1.0)
            self.assertLessEqual(batch["image"].max(), 1.0)
            np.testing.assert_array_equal(batch["temperature"], 4.0)

    def test_each_epoch_visits_every_example_once(self):
        labels = np.concatenate([b["label"] for b in _batches(self.stream("none", epochs=1))])
        np.testing.assert_array_equal(np.sort(labels), np.sort(self.split.labels))

    def test_none_policy_is_the_clean_data(self):
        clean = {img.tobytes() for img in self.split.images}
        batch = _batches(self.stream("none", epochs=1), 1)[0]
        pixels = np.round((batch["image"] + 1) / 2 * 255).astype(np.uint8)
        self.assertTrue(all(p.tobytes() in clean for p in pixels))

    def test_mixup_batch_is_a_mix_of_the_baseline_batch(self):
        # Per-example keys are shared, so the mixup stream is the baseline
        # stream mixed with the batch key's lambda and partners.
        base = _batches(self.stream("baseline", epochs=1), 2)
        mixed = _batches(self.stream("mixup", epochs=1), 2)
        for step, (b, m) in enumerate(zip(base, mixed)):
            expected, lam, partner = batch_ops.mixup(tf.constant(b["image"]), pipeline._key(0, pipeline._BATCH, 0, step))
            np.testing.assert_allclose(m["image"], expected, atol=1e-5)
            np.testing.assert_array_equal(m["label"], b["label"])  # labels are not mixed
            self.assertFalse(np.allclose(m["image"], b["image"]))
            np.testing.assert_array_equal(np.sort(np.asarray(partner)), np.arange(64))

    def test_mixup_lambda_is_uniform(self):
        images = tf.zeros((8, 2, 2, 1))
        lams = [float(batch_ops.mixup(images, tf.constant([7, i], tf.int64))[1]) for i in range(1000)]
        self.assertGreater(stats.kstest(lams, "uniform").pvalue, 0.01)
        self.assertBetween(np.mean(lams), 0.45, 0.55)

    def test_mixup_formula(self):
        images = tf.random.stateless_uniform((16, 3, 3, 1), seed=[1, 2])
        mixed, lam, partner = batch_ops.mixup(images, tf.constant([3, 4], tf.int64))
        expected = float(lam) * images.numpy() + (1 - float(lam)) * images.numpy()[np.asarray(partner)]
        np.testing.assert_allclose(mixed, expected, atol=1e-6)

    def test_same_seed_same_batches_other_seed_different(self):
        a, b, c = (_batches(self.stream(seed=s)) for s in (0, 0, 1))
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x["image"], y["image"])
        self.assertFalse(np.allclose(a[0]["image"], c[0]["image"]))

    def test_epochs_differ(self):
        batches = _batches(self.stream("none"))
        self.assertFalse(np.array_equal(batches[0]["label"], batches[4]["label"]))

    def test_restart_at_an_epoch_reproduces_it(self):
        full = _batches(self.stream(epochs=3))
        resumed = _batches(self.stream(epochs=3, start_epoch=2))
        self.assertLen(resumed, 4)
        for x, y in zip(full[8:], resumed):
            np.testing.assert_array_equal(x["image"], y["image"])

    def test_baseline_flip_rate_where_flips_are_allowed(self):
        # An image whose left half is bright: a flip is visible in the mean column.
        image = np.zeros((1, 8, 8, 1), np.uint8)
        image[..., :4, :] = 255
        split = sources.Split(np.repeat(image, 400, 0), np.zeros(400, np.int64))
        props = dataclasses.replace(self.props, image_shape=(8, 8, 1), hflip=True, crop_padding=0)
        ds = pipeline.augmented_stream(split, props, "baseline", 400, seed=0, epochs=1)
        images = _batches(ds)[0]["image"]
        flipped = images[:, :, 6:, :].mean(axis=(1, 2, 3)) > 0
        self.assertBetween(flipped.mean(), 0.43, 0.57)

    def test_no_flips_on_digits(self):
        self.assertFalse(self.props.hflip)

    def test_batch_larger_than_data_is_a_clear_error(self):
        with self.assertRaisesRegex(Exception, "--batch_size"):
            pipeline.distillation_dataset(self.split, self.props, "mixup", 512, 0, 1, 4.0)

    def test_evaluation_dataset_keeps_order_and_remainder(self):
        batches = _batches(pipeline.evaluation_dataset(self.split, 100))
        self.assertEqual([len(b["label"]) for b in batches], [100, 100, 56])
        np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), self.split.labels)


if __name__ == "__main__":
    absltest.main()
