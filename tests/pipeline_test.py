"""The tf.data pipeline and every policy: static shapes, ranges, property
tests over many examples or batches, and reproducibility from the seed."""

import dataclasses
import types

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl.testing import absltest
from scipy import stats

from kd_tf.config import choices
from kd_tf.data import batch_ops, distillation_set, keys, ood, pipeline, policies, sources, stream_spec, tfds_source
from kd_tf.data.catalog import Split
from kd_tf.data.generators import Generator
from kd_tf.data.stages import mixup_keys
from kd_tf.data.stream_spec import StreamSpec
from kd_tf.errors import DatasetNotAvailableError, UserError
from kd_tf.train import evaluation


def _batches(ds, count=None):
    return [tf.nest.map_structure(np.asarray, b) for b in ds.take(count or -1)]


def _assert_same_batches(xs, ys):
    assert len(xs) == len(ys), (len(xs), len(ys))
    for x, y in zip(xs, ys):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def _keys(count, stream=7):
    return [tf.constant([stream, i], tf.int64) for i in range(count)]


class PipelineTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = sources.load("mnist5k")
        cls.props = data.properties
        cls.train = data.train
        cls.split = data.train.subset(np.arange(256))
        cls.data = distillation_set.from_split(cls.split, 4.0)

    def stream(self, policy="mixup", seed=0, epochs=2, start_epoch=0, data=None, batch_size=64, **kwargs):
        spec = StreamSpec(policy, batch_size, seed, epochs, **kwargs)
        return pipeline.stream(data or self.data, self.props, spec, start_epoch)

    def test_policy_choices_are_implemented(self):
        self.assertEqual(set(choices.POLICIES), set(policies.POLICY_STAGES))

    def test_static_shapes_and_fields(self):
        spec = self.stream().element_spec
        self.assertEqual(spec["image"].shape.as_list(), [64, 28, 28, 1])
        self.assertEqual(spec["label"].shape.as_list(), [64])
        self.assertEqual(spec["temperature"].shape.as_list(), [64])
        self.assertEqual(int(self.stream().cardinality()), 2 * 4)

    def test_every_policy_yields_batches_in_range(self):
        for policy in ("none", "baseline", "rotation", "vflip", "color_jitter", "combined", "mixup", "noise", "ood"):
            batch = _batches(self.stream(policy, epochs=1), 1)[0]
            self.assertEqual(batch["image"].shape, (64, 28, 28, 1), policy)
            self.assertGreaterEqual(batch["image"].min(), -1.0, policy)
            self.assertLessEqual(batch["image"].max(), 1.0, policy)
            np.testing.assert_array_equal(batch["temperature"], 4.0)

    def test_each_epoch_visits_every_example_once(self):
        labels = np.concatenate([b["label"] for b in _batches(self.stream("none", epochs=1))])
        np.testing.assert_array_equal(np.sort(labels), np.sort(self.split.labels))

    def test_none_policy_is_the_clean_data(self):
        clean = {img.tobytes() for img in self.split.images}
        batch = _batches(self.stream("none", epochs=1), 1)[0]
        pixels = np.round((batch["image"] + 1) / 2 * 255).astype(np.uint8)
        self.assertTrue(all(p.tobytes() in clean for p in pixels))

    def test_cached_teacher_logits_travel_with_their_rows(self):
        # A stand-in "teacher": each row's logits are its clean image's pixel sum and its index.
        clean = pipeline.evaluation_dataset(self.data, 500, self.props)
        sums = np.concatenate([np.sum(b["image"], axis=(1, 2, 3)) for b in _batches(clean)])
        two_parts = distillation_set.build(self.split, 4.0, splits={"d0": 4.0, "d1": 2.0})
        parts_sums = np.concatenate([np.sum(b["image"], axis=(1, 2, 3)) for b in
                                     _batches(pipeline.evaluation_dataset(two_parts, 500, self.props))])
        for data, row_sums in ((self.data, sums), (two_parts, parts_sums)):
            table = np.stack([row_sums, np.arange(len(data), dtype=np.float32)], axis=1)
            spec = StreamSpec("none", 32, 0, 2)
            batches = _batches(pipeline.stream(data, self.props, spec, teacher_logits=table))
            plain = _batches(pipeline.stream(data, self.props, spec))
            seen = []
            for batch, without in zip(batches, plain):
                np.testing.assert_array_equal(batch["image"], without["image"])  # the stream is otherwise unchanged
                np.testing.assert_allclose(batch["teacher_logits"][:, 0], np.sum(batch["image"], axis=(1, 2, 3)),
                                           rtol=1e-5)
                seen.extend(batch["teacher_logits"][:, 1].astype(int))
            steps = len(batches) // 2
            self.assertEqual(len(set(seen[:steps * 32])), steps * 32)  # distinct rows within an epoch
            resumed = _batches(pipeline.stream(data, self.props, spec, 0, skip_steps=3, teacher_logits=table))
            _assert_same_batches(batches[3:], resumed)

    def test_cached_teacher_logits_only_where_inputs_repeat(self):
        table = np.zeros([len(self.data), 10], np.float32)
        for policy in ("baseline", "mixup", "noise"):
            with self.assertRaisesRegex(ValueError, "--aug=none"):
                pipeline.stream(self.data, self.props, StreamSpec(policy, 32, 0, 1), teacher_logits=table)

    # --- mixup -----------------------------------------------------------------

    def test_mixup_batch_is_a_mix_of_the_baseline_batch(self):
        base = _batches(self.stream("baseline", epochs=1), 2)
        mixed = _batches(self.stream("mixup", epochs=1), 2)
        for step, (b, m) in enumerate(zip(base, mixed)):
            key = keys.key(0, keys.BATCH, 0, 0, step)  # (seed, stream, epoch, pipeline, batch)
            expected, _, partner = batch_ops.mixup(tf.constant(b["image"]), key)
            np.testing.assert_allclose(m["image"], expected, atol=1e-5)
            np.testing.assert_array_equal(m["label"], b["label"])  # labels are not mixed
            self.assertFalse(np.allclose(m["image"], b["image"]))
            np.testing.assert_array_equal(np.sort(np.asarray(partner)), np.arange(64))

    def test_mixup_under_replicas_mixes_as_one_device(self):
        # Each replica's rows are the one-device batch's rows, mixed with the same partner (drawn from the
        # global batch) by the same lambda: 1 pipeline feeding 2 replicas (its consecutive batches are a
        # step's halves) and 2 pipelines of 1 replica (each takes every second row of the step).
        spec = StreamSpec("mixup", 64, 0, 1)
        one = _batches(pipeline.stream(self.data, self.props, spec), 2)
        two_replicas = _batches(pipeline.stream(self.data, self.props, spec, input_context=tf.distribute.InputContext(
            num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)), 4)
        two_pipelines = [_batches(pipeline.stream(self.data, self.props, spec, input_context=tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=p, num_replicas_in_sync=2)), 2) for p in range(2)]
        for step in range(2):
            for key in ("image", "label"):
                np.testing.assert_array_equal(
                    np.concatenate([two_replicas[2 * step][key], two_replicas[2 * step + 1][key]]), one[step][key])
                interleaved = np.stack([two_pipelines[0][step][key], two_pipelines[1][step][key]], axis=1)
                np.testing.assert_array_equal(interleaved.reshape(one[step][key].shape), one[step][key])
            self.assertNotIn("partner_image", two_replicas[0])
        base = _batches(pipeline.stream(self.data, self.props, dataclasses.replace(spec, policy="baseline")), 1)
        self.assertFalse(np.allclose(one[0]["image"], base[0]["image"]))  # mixed, not the plain rows
        one_device = stream_spec.Layout.of(spec, None)
        self.assertTrue(np.array_equal(*mixup_keys(spec, one_device, 0, 5)))  # one device: one key, as before

    def test_mixup_lambda_is_uniform(self):
        images = tf.zeros((8, 2, 2, 1))
        lams = [float(batch_ops.mixup(images, k)[1]) for k in _keys(1000)]
        self.assertGreater(stats.kstest(lams, "uniform").pvalue, 0.01)

    def test_mixup_formula(self):
        images = tf.random.stateless_uniform((16, 3, 3, 1), seed=[1, 2])
        mixed, lam, partner = batch_ops.mixup(images, tf.constant([3, 4], tf.int64))
        expected = float(lam) * images.numpy() + (1 - float(lam)) * images.numpy()[np.asarray(partner)]
        np.testing.assert_allclose(mixed, expected, atol=1e-6)

    # --- geometric policies ------------------------------------------------------

    def test_rotation_angles_are_bounded_and_uniform(self):
        angles = np.degrees([float(policies.rotation_angle(k, 20.0)) for k in _keys(2000)])
        self.assertLessEqual(np.abs(angles).max(), 20.0)
        self.assertGreater(np.abs(angles).max(), 19.5)
        self.assertGreater(stats.kstest((angles + 20) / 40, "uniform").pvalue, 0.01)

    def test_rotate_turns_the_image(self):
        image = np.zeros((9, 9, 1), np.float32)
        image[4, 8] = 1.0  # right of the centre
        np.testing.assert_array_equal(policies.rotate(tf.constant(image), tf.constant(0.0)), image)
        quarter = np.asarray(policies.rotate(tf.constant(image), tf.constant(np.pi / 2, tf.float32)))
        self.assertEqual(quarter.sum(), 1.0)
        y, x = np.argwhere(quarter[..., 0])[0]
        self.assertEqual(x, 4)  # now straight above or below the centre
        self.assertIn(y, (0, 8))

    def _flip_rate(self, policy, axis):
        image = np.zeros((1, 8, 8, 1), np.uint8)
        index = [slice(None)] * 4
        index[axis] = slice(0, 4)
        image[tuple(index)] = 255  # one half bright: a flip moves it
        split = Split(np.repeat(image, 400, 0), np.zeros(400, np.int64))
        props = dataclasses.replace(self.props, image_shape=(8, 8, 1), hflip=True, crop_padding=0)
        spec = StreamSpec(policy, 400, 0, 1)
        images = _batches(pipeline.stream(distillation_set.from_split(split, 1.0), props, spec))[0]["image"]
        far = [slice(None)] * 4
        far[axis] = slice(6, 8)
        return (images[tuple(far)].mean(axis=(1, 2, 3)) > 0).mean()

    def test_horizontal_flip_rate_where_flips_are_allowed(self):
        self.assertBetween(self._flip_rate("baseline", axis=2), 0.43, 0.57)

    def test_vertical_flip_rate(self):
        self.assertBetween(self._flip_rate("vflip", axis=1), 0.43, 0.57)

    def test_no_horizontal_flips_on_digits(self):
        self.assertFalse(self.props.hflip)

    def test_color_jitter_factors_and_range(self):
        image = tf.random.stateless_uniform((16, 16, 3), seed=[0, 1], minval=0.2, maxval=0.8)
        ratios = []
        for k in _keys(200):
            out = policies.color_jitter(image, k, 0.2)
            self.assertEqual(out.shape, (16, 16, 3))
            self.assertBetween(float(tf.reduce_min(out)), 0.0, 1.0)
            self.assertBetween(float(tf.reduce_max(out)), 0.0, 1.0)
            ratios.append(float(tf.reduce_mean(out) / tf.reduce_mean(image)))
        # Brightness scales by [0.8, 1.2]; contrast and saturation keep the mean; hue moves it a little.
        self.assertBetween(min(ratios), 0.7, 0.9)
        self.assertBetween(max(ratios), 1.1, 1.3)

    def test_color_jitter_keeps_grayscale_images_grayscale(self):
        image = tf.random.stateless_uniform((8, 8, 1), seed=[0, 2])
        self.assertEqual(policies.color_jitter(image, tf.constant([1, 1], tf.int64), 0.2).shape, (8, 8, 1))

    # --- noise, ood, gan ---------------------------------------------------------

    def test_noise_replacement_rate_and_masked_labels(self):
        batches = _batches(self.stream("noise", epochs=4, batch_size=256))
        labels = np.concatenate([b["label"] for b in batches])
        self.assertBetween((labels < 0).mean(), 0.16, 0.24)  # 1,024 draws at p = 0.2
        images = np.concatenate([b["image"] for b in batches])
        noise = images[labels < 0]
        self.assertAlmostEqual(noise.mean(), 0.0, delta=0.02)  # U[0,1] pixels -> mean 0 in [-1, 1]
        self.assertAlmostEqual(noise.std(), 2 / np.sqrt(12), delta=0.02)

    def test_gan_without_synthetic_rows_per_replica_is_refused(self):
        generator = Generator(lambda z: tf.zeros([tf.shape(z)[0], 28, 28, 1]), 4, (28, 28, 1), "zeros")
        spec = StreamSpec("gan", 128, 0, 1, generator=generator)
        self.assertEqual(stream_spec.steps_per_epoch(4000, spec, 2), 4000 // 103)  # 51 + 52 real, 13 + 12 synthetic
        self.assertEqual(spec.synthetic_rows(16), (2,) * 9 + (1,) * 7)  # 25 over 16 replicas of 8 rows
        with self.assertRaisesRegex(UserError, "--aug=gan: a global batch of 128 holds 25 synthetic"):
            stream_spec.steps_per_epoch(4000, spec, 32)  # 4 rows per replica: int(4 * 0.2) = 0

    def test_gan_rows(self):
        generator = Generator(lambda z: tf.tanh(tf.reshape(tf.tile(z[:, :1], [1, 784]), [-1, 28, 28, 1])),
                              z_dim=8, image_shape=(28, 28, 1), source="test")
        spec = StreamSpec("gan", 128, 0, 1, generator=generator, synth_temperature=1.0)
        self.assertEqual((spec.real_rows(), spec.synthetic_rows()), ((103,), (25,)))
        data = distillation_set.from_split(self.train, 4.0)
        ds = pipeline.stream(data, self.props, spec)
        self.assertEqual(ds.element_spec["image"].shape.as_list(), [128, 28, 28, 1])
        for batch in _batches(ds, 3):
            np.testing.assert_array_equal(batch["label"][103:], -1)
            self.assertTrue(np.all(batch["label"][:103] >= 0))
            np.testing.assert_array_equal(batch["temperature"][103:], 1.0)
            np.testing.assert_array_equal(batch["temperature"][:103], 4.0)
        self.assertEqual(stream_spec.steps_per_epoch(len(data), spec), 4000 // 103)

    def test_gan_rows_under_replicas_are_the_one_device_rows(self):
        # 25 synthetic rows of 128 over 2 replicas: 13 + 12, the first 13 and the last 12 of one device's z
        # (one pipeline feeding both, and one pipeline each).
        generator = Generator(lambda z: tf.tanh(tf.reshape(tf.tile(z[:, :1], [1, 784]), [-1, 28, 28, 1])),
                              z_dim=8, image_shape=(28, 28, 1), source="test")
        spec = StreamSpec("gan", 128, 0, 1, generator=generator, synth_temperature=1.0)
        data = distillation_set.from_split(self.train, 4.0)
        one = _batches(pipeline.stream(data, self.props, spec), 2)
        fed = _batches(pipeline.stream(data, self.props, spec, input_context=tf.distribute.InputContext(
            num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)), 4)
        own = [_batches(pipeline.stream(data, self.props, spec, input_context=tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=p, num_replicas_in_sync=2)), 2) for p in range(2)]
        for step in range(2):
            synthetic = one[step]["image"][103:]
            for first, second in ((fed[2 * step], fed[2 * step + 1]), (own[0][step], own[1][step])):
                self.assertEqual((len(first["image"]), len(second["image"])), (64, 64))  # 51 + 13, 52 + 12
                np.testing.assert_array_equal(np.concatenate([first["image"][51:], second["image"][52:]]), synthetic)
        self.assertFalse(np.array_equal(one[0]["image"][103:], one[1]["image"][103:]))

    def test_ood_rows_are_added_unlabelled(self):
        extra = ood.load(ood.EMBEDDED, 300, (28, 28, 1))
        self.assertEqual(extra.images.shape, (300, 28, 28, 1))
        data = distillation_set.build(self.split, 4.0, ood=extra)
        self.assertLen(data, 256 + 300)
        self.assertEqual(int((data.labels < 0).sum()), 300)
        labels = np.concatenate([b["label"] for b in _batches(self.stream("ood", epochs=1, data=data))])
        self.assertBetween((labels < 0).mean(), 0.4, 0.68)  # 300 of 556 rows, in 512 drawn

    def test_ood_from_a_tfds_dataset(self):
        with tfds.testing.mock_data(num_examples=50):
            extra = ood.load("svhn_cropped", 20, (32, 32, 3))
        self.assertEqual(extra.images.shape, (20, 32, 32, 3))
        self.assertTrue(np.all(extra.labels == -1))

    # --- data recycling -----------------------------------------------------------

    def test_recycling_halves_are_disjoint_and_cover_the_train_split(self):
        halves = distillation_set.recycling_split(self.train)
        d0 = {img.tobytes() for img in halves["d0"].images}
        d1 = {img.tobytes() for img in halves["d1"].images}
        self.assertEqual(len(halves["d0"]) + len(halves["d1"]), len(self.train))
        self.assertEmpty(d0 & d1)
        self.assertLen(d0 | d1, len({img.tobytes() for img in self.train.images}))

    def test_split_temperatures_per_row(self):
        splits = distillation_set.parse_splits("d0,d1", "1,4", 2.0)
        self.assertEqual(splits, {"d0": 1.0, "d1": 4.0})
        data = distillation_set.build(self.train, 2.0, splits)
        self.assertLen(data, len(self.train))
        np.testing.assert_array_equal(np.unique(data.temperatures), [1.0, 4.0])
        self.assertEqual(int((data.temperatures == 1.0).sum()), len(self.train) // 2)
        only_d1 = distillation_set.build(self.train, 2.0, distillation_set.parse_splits("d1", None, 2.0))
        np.testing.assert_array_equal(only_d1.temperatures, 2.0)

    def test_bad_split_flags(self):
        for splits, temps in (("d2", None), ("d0,d0", None), ("d0,d1", "1"), ("d0", "-1")):
            with self.assertRaisesRegex(Exception, "--distill_splits|--split_temperatures"):
                distillation_set.parse_splits(splits, temps, 4.0)

    def test_data_fraction(self):
        data = distillation_set.build(self.train, 4.0, fraction=0.25)
        self.assertLen(data, 1000)
        np.testing.assert_array_equal(np.bincount(data.labels), [100] * 10)

    # --- reproducibility -------------------------------------------------------------

    def test_same_seed_same_batches_other_seed_different(self):
        for policy in ("combined", "mixup", "noise"):
            a, b, c = (_batches(self.stream(policy, seed=s)) for s in (0, 0, 1))
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x["image"], y["image"])
            self.assertFalse(np.allclose(a[0]["image"], c[0]["image"]), policy)

    def test_parallelism_does_not_change_the_batches(self):
        options = tf.data.Options()
        options.threading.private_threadpool_size = 1
        serial = _batches(self.stream("combined").with_options(options))
        parallel = _batches(self.stream("combined"))
        for x, y in zip(serial, parallel):
            np.testing.assert_array_equal(x["image"], y["image"])

    def test_epochs_differ(self):
        batches = _batches(self.stream("none"))
        self.assertFalse(np.array_equal(batches[0]["label"], batches[4]["label"]))

    def test_restart_at_an_epoch_reproduces_it(self):
        full = _batches(self.stream(epochs=3))
        resumed = _batches(self.stream(epochs=3, start_epoch=2))
        self.assertLen(resumed, 4)
        for x, y in zip(full[8:], resumed):
            np.testing.assert_array_equal(x["image"], y["image"])

    def test_mid_epoch_resume_gives_the_uninterrupted_batches(self):
        generator = Generator(lambda z: tf.tanh(tf.reshape(tf.tile(z[:, :1], [1, 784]), [-1, 28, 28, 1])),
                              z_dim=8, image_shape=(28, 28, 1), source="test")
        two_parts = distillation_set.build(self.split, 4.0, splits={"d0": 4.0, "d1": 2.0})
        cases = [("mixup", self.data, {}), ("combined", self.data, {}), ("baseline", two_parts, {}),
                 ("gan", self.data, {"generator": generator})]
        for policy, data, kwargs in cases:
            spec = StreamSpec(policy, 32, 0, 2, **kwargs)
            full = _batches(pipeline.stream(data, self.props, spec, 0))
            steps = stream_spec.steps_per_epoch(data.parts if len(data.parts) > 1 else len(data), spec)
            for skip in (1, steps - 1):
                resumed = _batches(pipeline.stream(data, self.props, spec, 0, skip_steps=skip))
                _assert_same_batches(full[skip:], resumed)
            resumed = _batches(pipeline.stream(data, self.props, spec, 1, skip_steps=2))
            _assert_same_batches(full[steps + 2:], resumed)

    def test_mid_epoch_resume_skips_before_reading_examples(self):
        # Skipped examples are never gathered: a resume at step k reads k batches fewer.
        spec = StreamSpec("baseline", 32, 0, 1)
        full = pipeline.stream(self.data, self.props, spec)
        resumed = pipeline.stream(self.data, self.props, spec, skip_steps=5)
        self.assertEqual(int(full.cardinality()) - 5, int(resumed.cardinality()))
        graph = tf.compat.v1.GraphDef.FromString(resumed._as_serialized_graph().numpy())
        ops = {node.name: node.op for node in graph.node}
        skipped = [ops[node.input[0].split(":")[0]] for node in graph.node if node.op == "SkipDataset"]
        # Only the index stream is skipped, upstream of the example map (gather, decode, augment); a skip of
        # the finished batches (what a resume did before) would sit on the prefetch at the end.
        self.assertEqual(set(skipped), {"ShardDataset"})

    def test_batch_larger_than_data_is_a_clear_error(self):
        with self.assertRaisesRegex(Exception, "--batch_size"):
            self.stream(batch_size=512)

    def test_evaluation_dataset_keeps_order_and_remainder(self):
        batches = _batches(pipeline.evaluation_dataset(self.split, 100))
        self.assertEqual([len(b["label"]) for b in batches], [100, 100, 56])
        np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), self.split.labels)

    def test_augmented_evaluation_pass_is_the_policy_epoch_in_evaluation_batches(self):
        # The final evaluation's train_<policy> split: the rows of the policy's first epoch, in order, with
        # nothing dropped or added by the rebatching to EVAL_BATCH.
        dataset = types.SimpleNamespace(train=self.train, properties=self.props)
        spec = StreamSpec("mixup", 128, 3, 9)
        evaluated = _batches(evaluation.augmented_pass(dataset, spec))
        trained = _batches(pipeline.stream(distillation_set.from_split(self.train, 1.0), self.props,
                                           dataclasses.replace(spec, epochs=1)))
        rows = sum(len(b["label"]) for b in trained)
        self.assertEqual(rows, len(self.train) // 128 * 128)
        self.assertEqual([len(b["label"]) for b in evaluated],
                         [evaluation.EVAL_BATCH] * (rows // evaluation.EVAL_BATCH) + [rows % evaluation.EVAL_BATCH])
        self.assertEqual(set(evaluated[0]), {"image", "label"})
        for key in ("image", "label"):
            np.testing.assert_array_equal(np.concatenate([b[key] for b in evaluated]),
                                          np.concatenate([b[key] for b in trained]), err_msg=key)


class OtherSourcesTest(absltest.TestCase):
    def test_emnist_config(self):
        with tfds.testing.mock_data(num_examples=30):
            data = sources.load("emnist/letters")
        self.assertEqual(data.train.images.shape, (30, 28, 28, 1))
        self.assertEqual(data.properties.num_classes, 37)

    def test_imdb_tokens_through_the_stream(self):
        with tfds.testing.mock_data(num_examples=40):
            data = tfds_source.load_imdb(min_count=1)
        self.assertEqual(data.train.images.shape, (40, 100))
        self.assertEqual(data.train.images.dtype, np.int32)
        self.assertGreater(data.properties.vocab_size, 2)
        self.assertLess(int(data.train.images.max()), data.properties.vocab_size)
        self.assertEqual(data.properties.model_kwargs(), {"vocab_size": data.properties.vocab_size})
        train = distillation_set.from_split(data.train, 4.0)
        batch = _batches(pipeline.stream(train, data.properties, StreamSpec("none", 8, 0, 1)), 1)[0]
        self.assertEqual(batch["image"].dtype, np.int32)
        self.assertEqual(batch["image"].shape, (8, 100))
        self.assertTrue(any(np.array_equal(batch["image"][0], row) for row in data.train.images))
        with self.assertRaisesRegex(Exception, "text datasets take none or baseline"):
            pipeline.stream(train, data.properties, StreamSpec("mixup", 8, 0, 1))

    def test_imdb_vocabulary_min_count(self):
        with tfds.testing.mock_data(num_examples=20):
            with self.assertRaisesRegex(Exception, "No token occurs 1000 times"):
                tfds_source.load_imdb(min_count=1000)

    def test_imagenet_streams(self):
        with tfds.testing.mock_data(num_examples=40):
            data = sources.load("imagenet2012")
            self.assertEqual((len(data.train), len(data.test)), (40, 40))
            spec = StreamSpec("mixup", 8, 0, 2, temperature=3.0)
            batches = _batches(pipeline.stream(data.train, data.properties, spec))
            again = _batches(pipeline.stream(data.train, data.properties, spec))
            evaluation = _batches(pipeline.evaluation_dataset(data.test, 16, data.properties), 1)[0]
        self.assertLen(batches, 2 * 5)
        self.assertEqual(batches[0]["image"].shape, (8, 224, 224, 3))
        self.assertBetween(float(batches[0]["image"].min()), -1.0, 1.0)
        np.testing.assert_array_equal(batches[0]["temperature"], 3.0)
        for x, y in zip(batches, again):
            np.testing.assert_array_equal(x["image"], y["image"])
        self.assertEqual(evaluation["image"].shape, (16, 224, 224, 3))
        with tfds.testing.mock_data(num_examples=40):
            resumed = _batches(pipeline.stream(data.train, data.properties, spec, 0, skip_steps=2))
        _assert_same_batches(batches[2:], resumed)

    def test_imagenet_crops_decode_only_the_window(self):
        from kd_tf.data import imagenet

        image = tf.cast(tf.random.stateless_uniform((180, 240, 3), seed=[4, 2], maxval=256, dtype=tf.int32), tf.uint8)
        encoded = tf.io.encode_jpeg(image, quality=95)
        decoded = tf.io.decode_jpeg(encoded, channels=3)
        for key in _keys(5):
            # The same window; libjpeg upsamples chroma at the window's edge from
            # inside it only, so the crop's outermost pixels may differ by some levels.
            a = np.asarray(imagenet.random_resized_crop_jpeg(encoded, key, 64))
            b = np.asarray(imagenet.random_resized_crop(decoded, key, 64))
            np.testing.assert_array_equal(a[1:-1, 1:-1], b[1:-1, 1:-1])
            self.assertLess(np.abs(a - b).max(), 16 / 255)  # pixel noise: the worst case for chroma

    def test_imagenet_missing_explains_the_manual_download(self):
        with self.assertRaisesRegex(DatasetNotAvailableError, "ILSVRC2012_img_train.tar"):
            sources.load("imagenet2012", data_dir=self.create_tempdir().full_path)


class CifarShapesTest(absltest.TestCase):
    def test_policies_on_mock_cifar100(self):
        with tfds.testing.mock_data(num_examples=64):
            data = sources.load("cifar100")
        self.assertEqual(data.properties.num_classes, 100)
        self.assertTrue(data.properties.hflip)
        for policy in ("baseline", "combined", "mixup", "noise"):
            spec = StreamSpec(policy, 32, 0, 1)
            batch = _batches(pipeline.stream(distillation_set.from_split(data.train, 4.0), data.properties, spec), 1)[0]
            self.assertEqual(batch["image"].shape, (32, 32, 32, 3), policy)
            self.assertBetween(float(batch["image"].min()), -1.0, 1.0)


if __name__ == "__main__":
    absltest.main()
