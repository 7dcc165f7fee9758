"""SN-GAN training: hinge losses, which weights each step changes, spectral
norms, resume, export, and the Inception plumbing."""

import json
import os
import signal
import subprocess
import time

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest

from kd_tf.config.gan import GanConfig, generator_path
from kd_tf.config.runtime import Runtime
from kd_tf.data import generators
from kd_tf.gan import inception
from kd_tf.gan.losses import discriminator_hinge, generator_hinge
from kd_tf.gan.model import SNGAN
from kd_tf.jobs import gan as gan_job
from kd_tf.models.registry import build_model
from tests import binaries


def tiny_gan(disc_steps=2):
    keras.utils.set_random_seed(0)
    generator = build_model("sngan_generator", z_dim=16, width=8, output_size=28, channels=1)
    discriminator = build_model("sngan_discriminator", input_shape=(28, 28, 1), width=8, channels=1)
    gan = SNGAN(generator, discriminator, disc_steps=disc_steps)
    gan.compile(keras.optimizers.Adam(1e-3, 0.0, 0.9), keras.optimizers.Adam(1e-3, 0.0, 0.9))
    return gan


def _values(variables):
    return [np.array(v) for v in variables]


class HingeTest(absltest.TestCase):
    def test_formulas_on_fixed_scores(self):
        real, fake = np.array([2.0, 0.5, -1.0]), np.array([-2.0, 0.0, 1.5])
        expected_d = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
        self.assertAlmostEqual(float(discriminator_hinge(real, fake)), expected_d, places=6)
        self.assertAlmostEqual(float(generator_hinge(fake)), -np.mean(fake), places=6)


class StepTest(absltest.TestCase):
    def test_discriminator_step_leaves_the_generator_untouched(self):
        gan = tiny_gan()
        g, d = _values(gan.generator.trainable_variables), _values(gan.discriminator.trainable_variables)
        gan.discriminator_step(tf.random.uniform((8, 28, 28, 1), -1, 1))
        for before, after in zip(g, gan.generator.trainable_variables):
            np.testing.assert_array_equal(before, np.array(after))
        after = gan.discriminator.trainable_variables
        self.assertTrue(any(not np.array_equal(b, np.array(a)) for b, a in zip(d, after)))

    def test_generator_step_leaves_the_discriminator_untouched(self):
        gan = tiny_gan()
        gan.discriminator_step(tf.random.uniform((8, 28, 28, 1), -1, 1))  # builds both optimizers
        g, d = _values(gan.generator.trainable_variables), _values(gan.discriminator.trainable_variables)
        d_iterations = int(gan.d_optimizer.iterations)
        gan.generator_step(8)
        self.assertEqual(int(gan.d_optimizer.iterations), d_iterations)
        # The discriminator's training-mode forward renormalises each spectrally
        # normalised kernel, W <- W / sigma: a scalar rescaling, nothing more.
        for before, variable in zip(d, gan.discriminator.trainable_variables):
            after = np.array(variable)
            if "kernel" in variable.path:
                scale = np.sum(before * after) / np.sum(before * before)
                np.testing.assert_allclose(after, scale * before, rtol=1e-4, atol=1e-6)
            else:
                np.testing.assert_array_equal(after, before)
        self.assertTrue(any(not np.array_equal(b, np.array(a)) for b, a in zip(g, gan.generator.trainable_variables)))

    def test_one_train_step_is_disc_steps_then_one_generator_step(self):
        gan = tiny_gan(disc_steps=3)
        gan.fit(tf.data.Dataset.from_tensors(tf.random.uniform((24, 28, 28, 1), -1, 1)), epochs=1, verbose=0)
        self.assertEqual(int(gan.d_optimizer.iterations), 3)
        self.assertEqual(int(gan.g_optimizer.iterations), 1)

    def test_spectral_norms_stay_near_one(self):
        gan = tiny_gan()
        data = tf.data.Dataset.from_tensors(tf.random.uniform((16, 28, 28, 1), -1, 1)).repeat()
        gan.fit(data, steps_per_epoch=20, epochs=1, verbose=0)
        sn_layers = [layer for layer in gan.discriminator._flatten_layers(include_self=False, recursive=True)
                     if isinstance(layer, keras.layers.SpectralNormalization)]
        self.assertLen(sn_layers, 10)
        for layer in sn_layers:
            kernel = np.array(layer.kernel)
            sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
            self.assertBetween(sigma, 0.8, 1.2, layer.name)


class JobTest(absltest.TestCase):
    CONFIG = dict(dataset="mnist5k", gen_width=8, disc_width=8, batch_size=16, disc_steps_per_gen_step=2,
                  z_dim=16, checkpoint_every=2, fid_samples=20)

    def test_resume_continues_the_step_count_and_exports(self):
        out = self.create_tempdir().full_path
        first = gan_job.run(GanConfig(gen_steps=2, **self.CONFIG), Runtime(output_dir=out))
        self.assertEqual(first["generator_steps"], 2)
        saved = np.asarray(keras.saving.load_model(generator_path(out))(tf.ones((1, 16)), training=False))
        second = gan_job.run(GanConfig(gen_steps=4, **self.CONFIG), Runtime(output_dir=out))
        self.assertEqual(second["generator_steps"], 4)
        self.assertTrue(os.path.exists(os.path.join(out, "checkpoints", "ckpt-4.index")))
        self.assertTrue(os.path.exists(os.path.join(out, "samples.png")))
        with open(os.path.join(out, "results.json")) as f:
            self.assertEqual(json.load(f)["generator_steps"], 4)
        # Both export formats load as gan-policy generators and give the same images in
        # inference mode (a SavedModel has no other).
        from_keras = generators.load(generator_path(out), "moving")
        from_saved_model = generators.load(os.path.join(out, "generator"), "moving")
        self.assertEqual((from_keras.z_dim, from_keras.image_shape), (16, (28, 28, 1)))
        self.assertEqual((from_saved_model.z_dim, from_saved_model.image_shape), (16, (28, 28, 1)))
        z = tf.random.stateless_normal([5, 16], seed=[1, 2])
        np.testing.assert_allclose(np.asarray(from_keras(z)), np.asarray(from_saved_model(z)), atol=1e-5)
        self.assertTrue(np.all(np.abs(np.asarray(from_keras(z))) <= 1.0))
        self.assertFalse(np.allclose(saved, np.asarray(from_keras(tf.ones((1, 16))))))  # training went on

    def test_sigterm_saves_the_step_reached_and_the_rerun_finishes_the_same(self):
        root = self.create_tempdir().full_path
        flags = ["--gen_width=8", "--disc_width=8", "--batch_size=16", "--z_dim=16", "--checkpoint_every=10",
                 "--gen_steps=60", "--fid_samples=20"]
        env = {"TF_DETERMINISTIC_OPS": "1"}
        straight, stopped = os.path.join(root, "straight"), os.path.join(root, "stopped")
        proc, _ = binaries.run("train_gan", *flags, f"--output_dir={straight}", env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        victim = subprocess.Popen(binaries.command("train_gan") + flags + [f"--output_dir={stopped}"],
                                  cwd=binaries.REPO_ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 300
        while not os.path.exists(os.path.join(stopped, "checkpoints", "ckpt-10.index")) and time.time() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGTERM)
        _, stderr = victim.communicate(timeout=120)
        self.assertEqual(victim.returncode, 42, stderr[-3000:])
        self.assertIn("Stopped by SIGTERM", stderr)
        self.assertFalse(os.path.exists(os.path.join(stopped, "results.json")))
        proc, _ = binaries.run("train_gan", *flags, f"--output_dir={stopped}", env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertRegex(proc.stderr, r"Resumed from .*ckpt-\d+")
        with open(os.path.join(stopped, "results.json")) as f:
            self.assertEqual(json.load(f)["generator_steps"], 60)
        a, b = (keras.saving.load_model(generator_path(d)) for d in (straight, stopped))
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)

    def test_steps_must_fit_checkpoints(self):
        with self.assertRaisesRegex(Exception, "--gen_steps=3 must be a multiple of --checkpoint_every"):
            gan_job.run(GanConfig(gen_steps=3, **self.CONFIG), Runtime(output_dir=self.create_tempdir().full_path))
        with self.assertRaisesRegex(Exception, "--fid_every=3 must be a multiple of --checkpoint_every"):
            gan_job.run(GanConfig(gen_steps=4, fid_every=3, **self.CONFIG),
                        Runtime(output_dir=self.create_tempdir().full_path))


class InceptionTest(absltest.TestCase):
    def test_features_logits_and_probabilities(self):
        # Random weights: the plumbing, not the numbers, is under test here.
        model = inception.InceptionFeatures(keras.applications.InceptionV3(weights=None, include_top=True))
        images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
        pool, logits, probabilities = model(images)
        self.assertEqual(pool.shape, (3, 2048))
        self.assertEqual(logits.shape, (3, 1000))
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
        full = np.asarray(model.model(tf.image.resize(tf.image.grayscale_to_rgb(tf.constant(images)), (299, 299))))
        np.testing.assert_allclose(probabilities, full, atol=1e-5)  # logits are the top layer's pre-softmax


if __name__ == "__main__":
    absltest.main()
