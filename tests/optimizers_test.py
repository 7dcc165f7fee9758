"""TorchSGD against a hand computation of PyTorch's SGD update, and the
per-epoch cosine schedule against PyTorch's CosineAnnealingLR formula."""

import math

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.train.optimizers import TorchAdam, TorchSGD
from kd_tf.train.schedules import EpochCosineDecay


def torch_sgd_reference(w, grads_fn, lrs, momentum, nesterov, wd):
    """PyTorch's torch.optim.SGD, step by step, in numpy."""
    buf = None
    for lr in lrs:
        g = grads_fn(w) + wd * w
        buf = g.copy() if buf is None else momentum * buf + g
        step = g + momentum * buf if nesterov else buf
        w = w - lr * step
    return w


class TorchSGDTest(parameterized.TestCase):
    @parameterized.parameters((True, 1e-4), (False, 1e-4), (True, 0.0), (False, 0.05))
    def test_matches_pytorch_update(self, nesterov, wd):
        rng = np.random.default_rng(0)
        target = rng.normal(size=(3, 4))
        w0 = rng.normal(size=(3, 4))

        def grads_fn(w):  # nonlinear in w, so that every step's gradient differs
            return (w - target) * (1.5 + np.sin(w))

        schedule = EpochCosineDecay(0.1, 0.001, epochs=4, steps_per_epoch=1)  # lr changes every step
        lrs = [schedule.epoch_value(e) for e in range(4)]
        var = tf.Variable(w0, dtype=tf.float64)
        opt = TorchSGD(schedule, momentum=0.9, nesterov=nesterov, coupled_weight_decay=wd)
        for _ in range(4):
            opt.apply_gradients([(tf.constant(grads_fn(var.numpy())), var)])
        expected = torch_sgd_reference(w0, grads_fn, lrs, 0.9, nesterov, wd)
        # The schedule computes lr in float32; everything else is float64.
        np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6, atol=1e-7)

    def test_decay_applies_to_every_parameter_including_bias_and_bn(self):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
        before = [np.array(v) for v in model.trainable_variables]
        opt = TorchSGD(0.1, momentum=0.0, coupled_weight_decay=0.5)
        opt.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
        for b, v in zip(before, model.trainable_variables):
            np.testing.assert_allclose(np.array(v), b * (1 - 0.1 * 0.5), rtol=1e-6)

    def test_keras_sgd_differs_when_lr_changes(self):
        # Why TorchSGD exists: Keras folds lr into the velocity.
        var_t, var_k = tf.Variable([1.0]), tf.Variable([1.0])
        sched = EpochCosineDecay(0.1, 0.0, epochs=2, steps_per_epoch=1)
        torch_opt, keras_opt = TorchSGD(sched, momentum=0.9), keras.optimizers.SGD(sched, momentum=0.9)
        for _ in range(2):
            torch_opt.apply_gradients([(tf.constant([1.0]), var_t)])
            keras_opt.apply_gradients([(tf.constant([1.0]), var_k)])
        self.assertNotAlmostEqual(float(var_t[0]), float(var_k[0]), places=4)

    def test_config_round_trip(self):
        opt = TorchSGD(0.05, momentum=0.9, nesterov=True, coupled_weight_decay=1e-4)
        clone = TorchSGD.from_config(opt.get_config())
        self.assertEqual((clone.momentum, clone.nesterov, clone.coupled_weight_decay), (0.9, True, 1e-4))

    def test_nesterov_needs_momentum(self):
        with self.assertRaisesRegex(ValueError, "Nesterov"):
            TorchSGD(0.1, momentum=0.0, nesterov=True)


class TorchAdamTest(absltest.TestCase):
    def test_matches_pytorch_update(self):
        rng = np.random.default_rng(0)
        w0, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

        def grads_fn(w):
            return (w - target) * (1.5 + np.sin(w))

        var = tf.Variable(w0, dtype=tf.float64)
        opt = TorchAdam(0.01, coupled_weight_decay=1e-3)
        for _ in range(5):
            opt.apply_gradients([(tf.constant(grads_fn(var.numpy())), var)])
        w, m, v = w0.copy(), 0.0, 0.0  # torch.optim.Adam, by hand
        for t in range(1, 6):
            g = grads_fn(w) + 1e-3 * w
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            w = w - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(var.numpy(), w, rtol=1e-6, atol=1e-7)


class EpochCosineDecayTest(absltest.TestCase):
    def test_per_epoch_values_match_cosine_annealing(self):
        s = EpochCosineDecay(0.05, 1e-6, epochs=300, steps_per_epoch=391)
        for epoch in (0, 1, 150, 299):
            expected = 1e-6 + (0.05 - 1e-6) * (1 + math.cos(math.pi * epoch / 300)) / 2
            self.assertAlmostEqual(s.epoch_value(epoch), expected, places=12)
            for step in (epoch * 391, epoch * 391 + 390):  # constant within the epoch
                self.assertAlmostEqual(float(s(step)), expected, places=6)

    def test_linear_warmup_then_cosine(self):
        s = EpochCosineDecay(0.1, 0.0, epochs=90, steps_per_epoch=10, warmup_epochs=5)
        for epoch, expected in ((0, 0.02), (4, 0.1), (5, 0.1), (47, 0.1 * (1 + math.cos(math.pi * 42 / 85)) / 2),
                                (89, 0.1 * (1 + math.cos(math.pi * 84 / 85)) / 2)):
            self.assertAlmostEqual(s.epoch_value(epoch), expected, places=9)
            self.assertAlmostEqual(float(s(epoch * 10 + 3)), expected, places=6)

    def test_starts_at_initial(self):
        self.assertAlmostEqual(float(EpochCosineDecay(0.1, 0.0, 200, 10)(0)), 0.1, places=7)


if __name__ == "__main__":
    absltest.main()
