"""Ready for accelerators, as far as a CPU can show it: the flags' routing,
the train step of every policy and loss under XLA (the stand-in for a TPU's
compilation), several steps per execution, and bf16/fp16 precision with loss
scaling that really updates the weights."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.config import choices
from kd_tf.config.distill import DistillConfig
from kd_tf.config.runtime import Runtime
from kd_tf.data import distillation_set, sources, stream_spec
from kd_tf.data.generators import Generator
from kd_tf.data.pipeline import distributed_stream, policy_stream
from kd_tf.data.stream_spec import StreamSpec
from kd_tf.distill.device_sampling import DeviceSampler
from kd_tf.distill.distiller import Distiller
from kd_tf.errors import UserError
from kd_tf.models.registry import build_model
from kd_tf.train import accelerator, precision
from kd_tf.train.optimizers import TorchSGD
from tests import fixtures


def _distiller(**kwargs):
    return fixtures.lenet_distiller(num_teachers=2, temperature=4.0, **kwargs)


def _weights(model):
    return [np.array(w, dtype=np.float32) for w in model.trainable_weights]


def _sgd():
    return TorchSGD(0.1, momentum=0.9, nesterov=True, coupled_weight_decay=1e-4)


class FlagRoutingTest(absltest.TestCase):
    def test_auto_on_a_cpu(self):
        strategy = tf.distribute.get_strategy()
        self.assertFalse(accelerator.jit_compile("auto", strategy))  # XLA is slower on CPUs
        self.assertTrue(accelerator.jit_compile("true", strategy))
        self.assertEqual(accelerator.steps_per_execution("auto", strategy, 125), 1)
        self.assertFalse(accelerator.sync_batchnorm("auto", strategy))  # one replica: nothing to synchronise
        self.assertTrue(accelerator.sync_batchnorm("true", strategy))

    def test_steps_per_execution_divides_the_epoch(self):
        strategy = tf.distribute.get_strategy()
        self.assertEqual(accelerator.steps_per_execution("8", strategy, 80), 8)
        self.assertEqual(accelerator.steps_per_execution("8", strategy, 20), 5)
        self.assertEqual(accelerator.steps_per_execution("32", strategy, 125), 25)
        self.assertEqual(accelerator.steps_per_execution("32", strategy, 7), 7)
        self.assertEqual(accelerator.largest_divisor_up_to(13, 4), 1)

    def test_bad_steps_per_execution_names_the_flag(self):
        for bad in ("0", "-3", "many", "2.5"):
            with self.assertRaisesRegex(UserError, "--steps_per_execution"):
                Runtime(steps_per_execution=bad)

    def test_precision_resolution(self):
        config = DistillConfig().resolved()
        self.assertEqual((config.precision, config.teacher_precision), ("fp32", "fp32"))
        config = DistillConfig().resolved(on_tpu=True)
        self.assertEqual((config.precision, config.teacher_precision), ("bf16", "bf16"))
        config = DistillConfig(precision="fp16", teacher_precision="bf16").resolved()
        self.assertEqual((config.precision, config.teacher_precision), ("fp16", "bf16"))
        # Precision changes results, so it names the run.
        bf16, fp32 = DistillConfig(precision="bf16").resolved(), DistillConfig().resolved()
        self.assertNotEqual(bf16.run_name(), fp32.run_name())


def _policy_batches():
    data = sources.load("mnist5k")
    generator = Generator(lambda z: tf.tanh(z[:, :1, None, None] * tf.ones([1, 28, 28, 1])), 4, (28, 28, 1), "toy")
    for policy in choices.POLICIES:
        stream = policy_stream(data, policy, batch_size=32, generator=generator if policy == "gan" else None)
        yield policy, next(iter(stream.dataset))


class XlaStepTest(parameterized.TestCase):
    """Every policy's batches and every loss through a jit_compile=True step."""

    def _step(self, batch, jit_compile, **kwargs):
        distiller = _distiller(**kwargs)
        distiller.compile(optimizer=_sgd(), jit_compile=jit_compile)
        logs = distiller.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
        return logs["loss"][0], _weights(distiller.student)

    def test_every_policy(self):
        for policy, batch in _policy_batches():
            xla_loss, xla_weights = self._step(batch, True)
            loss, weights = self._step(batch, False)
            self.assertTrue(np.isfinite(xla_loss), policy)
            self.assertAlmostEqual(xla_loss, loss, places=3, msg=policy)
            for a, b in zip(xla_weights, weights):
                np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5, err_msg=policy)

    @parameterized.parameters(*choices.LOSSES)
    def test_every_loss(self, loss):
        batch = fixtures.mnist_like_batch(batch_size=16, seed=3, unlabelled=4)
        kwargs = {"loss": loss, "alpha": 0.5, "epochs": 4}
        if loss in ("hard", "cvx"):
            # Draws of sampled and corrupted labels differ between XLA's and TF's
            # kernels: those compile and run; the comparison uses the argmax.
            sampled, _ = self._step(batch, True, hard_label="sample", label_corruption=0.25, **kwargs)
            self.assertTrue(np.isfinite(sampled))
        xla_loss, xla_weights = self._step(batch, True, **kwargs)
        loss_value, weights = self._step(batch, False, **kwargs)
        self.assertTrue(np.isfinite(xla_loss))
        self.assertAlmostEqual(xla_loss, loss_value, places=3)
        for a, b in zip(xla_weights, weights):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


class DeviceSamplingTest(absltest.TestCase):
    def test_synthetic_rows_drawn_in_the_compiled_step(self):
        generator = Generator(lambda z: tf.tanh(z[:, :1, None, None] * tf.ones([1, 28, 28, 1])), 4, (28, 28, 1), "toy")
        sampler = DeviceSampler(generator, 6, temperature=2.0, seed=3)
        batch = fixtures.mnist_like_batch(batch_size=26, seed=1)
        grown = sampler.append({k: tf.constant(v) for k, v in batch.items()}, tf.constant(5, tf.int64))
        self.assertEqual(grown["image"].shape, (32, 28, 28, 1))
        np.testing.assert_array_equal(grown["label"][26:], -1)
        np.testing.assert_array_equal(grown["temperature"][26:], 2.0)
        np.testing.assert_array_equal(grown["image"][:26], batch["image"])
        again = sampler.append({k: tf.constant(v) for k, v in batch.items()}, tf.constant(5, tf.int64))
        np.testing.assert_array_equal(grown["image"], again["image"])  # stateless: the step's rows repeat
        later = sampler.append({k: tf.constant(v) for k, v in batch.items()}, tf.constant(6, tf.int64))
        self.assertFalse(np.array_equal(grown["image"][26:], later["image"][26:]))

        distiller = fixtures.lenet_distiller(num_teachers=2, sampler=sampler)
        distiller.compile(optimizer=_sgd(), jit_compile=True)
        history = distiller.fit(tf.data.Dataset.from_tensors(batch).repeat(2), epochs=1, verbose=0).history
        self.assertTrue(np.isfinite(history["loss"][0]))

    def test_the_pipeline_leaves_the_rows_to_the_step(self):
        data = sources.load("mnist5k")
        generator = Generator(lambda z: tf.zeros([tf.shape(z)[0], 28, 28, 1]), 4, (28, 28, 1), "zeros")
        spec = StreamSpec("gan", 128, 0, 1, generator=generator, synthetic_on_device=True)
        train = distillation_set.from_split(data.train.subset(np.arange(512)), 4.0)
        batch = next(iter(distributed_stream(tf.distribute.get_strategy(), train, data.properties, spec)))
        self.assertEqual(batch["image"].shape[0], 103)  # the 25 synthetic rows come in the step
        self.assertTrue(np.all(batch["label"].numpy() >= 0))
        with self.assertRaisesRegex(UserError, "--gan_sampling=device needs"):
            stream_spec.steps_per_epoch(4000, spec, 2)  # 25 rows do not divide among 2 replicas


class StepsPerExecutionTest(absltest.TestCase):
    def test_one_execution_of_four_equals_four_of_one(self):
        batches = [fixtures.mnist_like_batch(batch_size=16, seed=s) for s in range(4)]
        data = tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches]) for k in batches[0]})

        def run(steps_per_execution):
            distiller = _distiller()
            distiller.compile(optimizer=_sgd(), steps_per_execution=steps_per_execution)
            history = distiller.fit(data, epochs=1, steps_per_epoch=4, verbose=0).history
            self.assertEqual(int(distiller.optimizer.iterations.numpy()), 4)
            return history["loss"][0], _weights(distiller.student)

        loss4, weights4 = run(4)
        loss1, weights1 = run(1)
        self.assertAlmostEqual(loss4, loss1, places=5)
        for a, b in zip(weights4, weights1):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


class PrecisionTest(absltest.TestCase):
    def _step(self, student_precision, teacher_precision="fp32", image_dtype=None):
        batch = fixtures.mnist_like_batch(batch_size=32, seed=7)
        if image_dtype:
            batch["image"] = tf.cast(batch["image"], image_dtype)
        with precision.policy(teacher_precision):
            teachers = fixtures.lenet_distiller(num_teachers=2).teacher
        keras.utils.set_random_seed(0)
        with precision.policy(student_precision):
            student = build_model("lenet5", 10)
        distiller = Distiller(student, teachers, temperature=4.0)
        before = _weights(student)
        distiller.compile(optimizer=precision.with_loss_scaling(_sgd(), student_precision))
        logs = distiller.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
        return logs["loss"][0], [a - b for a, b in zip(_weights(student), before)], distiller

    def test_policies_reach_the_layers(self):
        with precision.policy("bf16"):
            model = build_model("lenet5", 10)
        self.assertEqual(keras.config.dtype_policy().name, "float32")  # restored
        self.assertEqual(model.get_layer("conv1").compute_dtype, "bfloat16")
        self.assertEqual(model.get_layer("conv1").kernel.dtype, "float32")

    def test_fp16_updates_like_fp32(self):
        # The trap: a LossScaleOptimizer whose train step does not scale the loss
        # divides unscaled gradients by 2**15, and training silently stalls.
        loss32, delta32, _ = self._step("fp32")
        loss16, delta16, distiller = self._step("fp16")
        self.assertIsInstance(distiller.optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertAlmostEqual(loss16, loss32, delta=0.02 * abs(loss32))
        for d16, d32 in zip(delta16, delta32):
            self.assertGreater(np.abs(d32).max(), 0)
            ratio = np.linalg.norm(d16) / np.linalg.norm(d32)
            self.assertBetween(ratio, 0.9, 1.1)
            cosine = np.sum(d16 * d32) / (np.linalg.norm(d16) * np.linalg.norm(d32))
            self.assertGreater(cosine, 0.99)

    def test_a_bf16_feed_changes_nothing_when_every_model_computes_in_bf16(self):
        loss, delta, _ = self._step("bf16", "bf16")
        fed_loss, fed_delta, _ = self._step("bf16", "bf16", image_dtype="bfloat16")
        self.assertEqual(loss, fed_loss)
        for a, b in zip(delta, fed_delta):
            np.testing.assert_array_equal(a, b)
        data = sources.load("mnist5k")
        spec = StreamSpec("mixup", 32, 0, 1)
        train = distillation_set.from_split(data.train.subset(np.arange(64)), 4.0)
        fed = distributed_stream(tf.distribute.get_strategy(), train, data.properties, spec, image_dtype="bfloat16")
        self.assertEqual(next(iter(fed))["image"].dtype, tf.bfloat16)

    def test_bf16_student_and_teachers(self):
        loss32, delta32, _ = self._step("fp32")
        loss_bf16, delta_bf16, distiller = self._step("bf16", "bf16")
        self.assertEqual(distiller.teacher.members[0].get_layer("conv1").compute_dtype, "bfloat16")
        self.assertAlmostEqual(loss_bf16, loss32, delta=0.05 * abs(loss32))
        for d, d32 in zip(delta_bf16, delta32):
            cosine = np.sum(d * d32) / (np.linalg.norm(d) * np.linalg.norm(d32))
            self.assertGreater(cosine, 0.95)


if __name__ == "__main__":
    absltest.main()
