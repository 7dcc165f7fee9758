"""Strategy routing, and one distillation step under MirroredStrategy on two
logical CPUs against one device on the same global batch."""

import dataclasses
import functools
import os
import time
from unittest import mock

import tensorflow as tf

# Two logical CPUs, before anything initialises TensorFlow's devices.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl.testing import absltest  # noqa: E402

from kd_tf.config import choices  # noqa: E402
from kd_tf.distill.distiller import Distiller  # noqa: E402
from kd_tf.models.layers import synchronized_batch_norm  # noqa: E402
from kd_tf.models.registry import build_model  # noqa: E402
from kd_tf.train import strategy as strategy_lib  # noqa: E402
from kd_tf.train.optimizers import TorchSGD  # noqa: E402
from tests import fixtures  # noqa: E402


@functools.cache
def _mirrored():
    """One MirroredStrategy per process: collectives of two strategies in one
    process can share instance keys and then abort with a shape mismatch."""
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def _step(strategy, batch, jit_compile=False):
    with strategy.scope():
        distiller = fixtures.lenet_distiller(num_teachers=2, temperature=4.0)
        distiller.compile(optimizer=TorchSGD(0.1, momentum=0.9, nesterov=True, coupled_weight_decay=1e-4),
                          jit_compile=jit_compile)
    logs = distiller.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
    return logs, [np.array(w) for w in distiller.student.trainable_weights]


class MirroredEquivalenceTest(absltest.TestCase):
    def test_two_replicas_equal_one_device(self):
        batch = fixtures.mnist_like_batch(batch_size=16, seed=5)
        single_logs, single_weights = _step(tf.distribute.get_strategy(), batch)
        mirrored = _mirrored()
        self.assertEqual(mirrored.num_replicas_in_sync, 2)
        mirrored_logs, mirrored_weights = _step(mirrored, batch)
        for key in ("loss", "agreement", "kl"):
            self.assertAlmostEqual(mirrored_logs[key][0], single_logs[key][0], places=4, msg=key)
        changed = False
        for a, b, w0 in zip(mirrored_weights, single_weights, _initial_student_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
            changed |= not np.allclose(b, w0)
        self.assertTrue(changed, "the step did not update the student")

    def test_step_compiles_with_xla(self):
        # The stand-in for TPU compatibility: the whole train step under jit_compile.
        batch = fixtures.mnist_like_batch(batch_size=16, seed=5)
        xla_logs, xla_weights = _step(tf.distribute.get_strategy(), batch, jit_compile=True)
        logs, weights = _step(tf.distribute.get_strategy(), batch)
        self.assertAlmostEqual(xla_logs["loss"][0], logs["loss"][0], places=3)
        for a, b in zip(xla_weights, weights):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _preresnet_step(strategy, batch, sync_batchnorm):
    """One step of a PreResNet student: BatchNorm in training mode."""
    with strategy.scope():
        teacher = fixtures.lenet_distiller(num_teachers=1).teacher
        keras.utils.set_random_seed(0)
        with synchronized_batch_norm(sync_batchnorm):
            student = build_model("preresnet8", 10, (28, 28, 1))
        distiller = Distiller(student, teacher, temperature=4.0)
        distiller.compile(optimizer=TorchSGD(0.1, momentum=0.9, nesterov=True, coupled_weight_decay=1e-4))
    logs = distiller.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
    return logs["loss"][0], [np.array(w) for w in student.weights]  # moving statistics included


class SynchronizedBatchNormTest(absltest.TestCase):
    def test_two_replicas_equal_one_device_only_when_synchronised(self):
        batch = fixtures.mnist_like_batch(batch_size=16, seed=11)
        # Distinct halves: per-replica statistics differ from the global batch's.
        batch["image"][8:] = batch["image"][8:] * 0.3 + 0.5
        single_loss, single_weights = _preresnet_step(tf.distribute.get_strategy(), batch, False)
        mirrored = _mirrored()
        synced_loss, synced_weights = _preresnet_step(mirrored, batch, True)
        self.assertAlmostEqual(synced_loss, single_loss, places=4)
        for a, b in zip(synced_weights, single_weights):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        local_loss, local_weights = _preresnet_step(mirrored, batch, False)
        self.assertGreater(abs(local_loss - single_loss), 5e-4, "per-replica BatchNorm should change the step")
        self.assertFalse(all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(local_weights, single_weights)))


class DeviceSamplingTest(absltest.TestCase):
    def test_two_replicas_draw_their_own_rows_in_the_step(self):
        from kd_tf.data.generators import Generator
        from kd_tf.distill.device_sampling import DeviceSampler

        with _mirrored().scope():
            # A generator with BatchNorm on batch statistics (momentum 1), as --generator_bn=batch samples.
            net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1)),
                                    keras.layers.BatchNormalization(momentum=1.0)])
            generator = Generator(lambda z: tf.tanh(net(z, training=True)), 4, (28, 28, 1), "toy", net)
            sampler = DeviceSampler(generator, 6, 4.0, 0)
            distiller = fixtures.lenet_distiller(num_teachers=1, sampler=sampler)
            distiller.compile(optimizer=TorchSGD(0.01))
        batch = fixtures.mnist_like_batch(batch_size=52)  # 26 real rows per replica, then 6 synthetic each
        history = distiller.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
        self.assertTrue(np.isfinite(history["loss"][0]))

        def draw():
            return sampler.append({k: tf.constant(v[:26]) for k, v in batch.items()}, tf.constant(0, tf.int64))
        rows = _mirrored().experimental_local_results(_mirrored().run(draw))
        self.assertFalse(np.array_equal(rows[0]["image"][26:], rows[1]["image"][26:]))


class BatchNormReestimationTest(absltest.TestCase):
    def test_two_replicas_equal_one_device(self):
        from kd_tf.data import sources
        from kd_tf.data.catalog import Split
        from kd_tf.train import initialisation

        properties = sources.load("mnist5k").properties
        rng = np.random.default_rng(0)
        # 601 rows at batch 250: two batches split over the replicas, a last one of 101 on one device.
        images = (rng.integers(0, 256, (601, 28, 28, 1)) * np.linspace(0.2, 1.0, 601)[:, None, None, None])
        split = Split(images.astype(np.uint8), rng.integers(0, 10, 601))
        keras.utils.set_random_seed(0)
        single = build_model("preresnet8", 10, (28, 28, 1))
        with _mirrored().scope(), synchronized_batch_norm(True):
            keras.utils.set_random_seed(0)
            mirrored = build_model("preresnet8", 10, (28, 28, 1))
        initialisation.reestimate_batch_norm(single, split, properties, batch_size=250)
        with mock.patch.object(_mirrored(), "run", wraps=_mirrored().run) as spy:
            batches = initialisation.reestimate_batch_norm(mirrored, split, properties, batch_size=250,
                                                           strategy=_mirrored())
        self.assertEqual(batches, 3)
        self.assertGreater(spy.call_count, 0)  # the even batches went across the replicas
        statistics = [(w.path, np.asarray(w)) for w in mirrored.weights if "moving" in w.path]
        self.assertNotEmpty(statistics)
        expected = {w.path: np.asarray(w) for w in single.weights if "moving" in w.path}
        for path, value in statistics:
            np.testing.assert_allclose(value, expected[path], rtol=1e-4, atol=1e-5, err_msg=path)


class DistributedEvaluationTest(absltest.TestCase):
    def test_two_replicas_equal_one_device(self):
        from kd_tf.data import sources
        from kd_tf.data.stream_spec import StreamSpec
        from kd_tf.train import evaluation

        data = sources.load("mnist5k")
        # 777 test rows: a last batch of 277, not a multiple of the batch or, padded, of the replicas.
        small = dataclasses.replace(data, test=data.test.subset(np.arange(777)),
                                    train=data.train.subset(np.arange(600)))
        distiller = fixtures.lenet_distiller(num_teachers=2)
        spec = StreamSpec("mixup", 100, 0, 1)
        rows1, predictions1 = evaluation.evaluate(distiller.teacher, {"student": distiller.student}, small, spec)
        with mock.patch.object(evaluation, "_replicated_batches", wraps=evaluation._replicated_batches) as spy:
            rows2, predictions2 = evaluation.evaluate(distiller.teacher, {"student": distiller.student}, small, spec,
                                                      strategy=_mirrored())
        self.assertEqual(spy.call_count, 3)  # test, train and the augmented pass, over both replicas
        self.assertEqual([(r["model"], r["split"]) for r in rows1], [(r["model"], r["split"]) for r in rows2])
        for a, b in zip(rows1, rows2):
            for key, value in a.items():
                if isinstance(value, float):
                    self.assertAlmostEqual(b[key], value, places=4, msg=f"{a['model']} {a['split']} {key}")
        labels1, teacher1, students1 = predictions1["test"]
        labels2, teacher2, students2 = predictions2["test"]
        self.assertLen(labels2, 777)
        np.testing.assert_array_equal(labels1, labels2)
        np.testing.assert_allclose(teacher1, teacher2, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(students1["student"], students2["student"], rtol=1e-5, atol=1e-5)


class DistributedInputTest(absltest.TestCase):
    def test_per_replica_batches_through_fit(self):
        from kd_tf.data import distillation_set, sources
        from kd_tf.data.generators import Generator
        from kd_tf.data.pipeline import distributed_stream
        from kd_tf.data.stream_spec import StreamSpec, steps_per_epoch

        data = sources.load("mnist5k")
        train = distillation_set.from_split(data.train.subset(np.arange(512)), 4.0)
        generator = Generator(lambda z: tf.zeros([tf.shape(z)[0], 28, 28, 1]), 4, (28, 28, 1), "zeros")
        spec = StreamSpec("gan", 128, 0, 1, generator=generator)
        mirrored = _mirrored()
        # The global batch's 25 synthetic rows, as on one device: 13 + 12.
        self.assertEqual((spec.real_rows(2), spec.synthetic_rows(2)), ((51, 52), (13, 12)))
        self.assertEqual(spec.synthetic_rows(1), (25,))
        dist = distributed_stream(mirrored, train, data.properties, spec)
        for batch in [b for _, b in zip(range(2), dist)]:
            for replica_images in mirrored.experimental_local_results(batch["image"]):
                self.assertEqual(tuple(replica_images.shape), (64, 28, 28, 1))
            labels = [r.numpy() for r in mirrored.experimental_local_results(batch["label"])]
            self.assertEqual([int(np.sum(x == -1)) for x in labels], [13, 12])
            np.testing.assert_array_equal(labels[0][51:], -1)
            np.testing.assert_array_equal(labels[1][52:], -1)
            self.assertTrue(np.all(labels[0][:51] >= 0) and np.all(labels[1][:52] >= 0))
        steps = steps_per_epoch(len(train), spec, 2)
        self.assertEqual(steps, 512 // 103)  # 103 real rows per step, as on one device
        with mirrored.scope():
            distiller = fixtures.lenet_distiller(num_teachers=1)
            distiller.compile(optimizer=TorchSGD(0.01))
        history = distiller.fit(distributed_stream(mirrored, train, data.properties, spec), epochs=1,
                                steps_per_epoch=steps, verbose=0).history
        self.assertTrue(np.isfinite(history["loss"][0]))

    def test_cached_teacher_logits_split_with_their_rows(self):
        # --aug=none under 2 replicas: logits predicted over both replicas, then carried by each replica's rows.
        from kd_tf.data import distillation_set, sources
        from kd_tf.data.pipeline import distributed_stream
        from kd_tf.data.stream_spec import StreamSpec
        from kd_tf.train import evaluation

        data = sources.load("mnist5k")
        train = distillation_set.from_split(data.train.subset(np.arange(256)), 4.0)
        spec = StreamSpec("none", 64, 0, 1)
        mirrored = _mirrored()
        weights = {}
        for case in ("computed", "cached", "misaligned"):
            with mirrored.scope():
                distiller = fixtures.lenet_distiller(num_teachers=2)
                distiller.compile(optimizer=TorchSGD(0.1, momentum=0.9))
                for member in distiller.teacher.members:  # untrained teachers answer alike for every row: sharpen
                    kernel = member.weights[-2]  # the last layer's kernel (members are frozen)
                    kernel.assign(kernel * 100.0)
            logits = None
            if case != "computed":
                _, logits = evaluation.predict(distiller.teacher, train, data.properties, strategy=mirrored)
                self.assertEqual(logits.shape, (256, 10))
                if case == "misaligned":  # each row given its neighbour's logits
                    logits = np.roll(logits, 1, axis=0)
            distiller.fit(distributed_stream(mirrored, train, data.properties, spec, teacher_logits=logits),
                          epochs=1, steps_per_epoch=4, verbose=0)
            weights[case] = [np.array(w) for w in distiller.student.trainable_weights]
        for a, b in zip(weights["computed"], weights["cached"]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        # Rows matter: a misalignment would show.
        self.assertGreater(max(np.max(np.abs(a - b)) for a, b in zip(weights["computed"], weights["misaligned"])),
                           1e-4)


def _initial_student_weights():
    return [np.array(w) for w in fixtures.lenet_distiller(num_teachers=1).student.trainable_weights]


class RoutingTest(absltest.TestCase):
    def test_every_choice_is_routed(self):
        os.environ.pop("TF_CONFIG", None)
        routed = {
            "auto": tf.distribute.Strategy,
            "cpu": tf.distribute.OneDeviceStrategy,
            "mirrored": tf.distribute.MirroredStrategy,
        }
        for name, kind in routed.items():
            self.assertIsInstance(strategy_lib.make_strategy(name), kind, msg=name)
        # gpu, multi_worker and tpu cannot be built here; each fails clearly (below).
        self.assertEqual(set(choices.STRATEGIES), set(routed) | {"gpu", "multi_worker", "tpu"})

    def test_gpu_without_gpu(self):
        with self.assertRaisesRegex(strategy_lib.StrategyError, "no GPU"):
            strategy_lib.make_strategy("gpu")

    def test_multi_worker_needs_tf_config(self):
        os.environ.pop("TF_CONFIG", None)
        with self.assertRaisesRegex(strategy_lib.StrategyError, "TF_CONFIG"):
            strategy_lib.make_strategy("multi_worker")

    def test_tpu_absent_fails_within_seconds(self):
        for tpu in ("", "local", "grpc://127.0.0.1:1"):
            start = time.time()
            with self.assertRaisesRegex(strategy_lib.StrategyError, "--strategy=tpu"):
                strategy_lib.make_strategy("tpu", tpu)
            self.assertLess(time.time() - start, 10, msg=tpu)


if __name__ == "__main__":
    absltest.main()
