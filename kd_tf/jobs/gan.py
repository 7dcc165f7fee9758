"""Training an SN-GAN (REFERENCE.md section 5), resumable, with TensorBoard
scalars, a fixed-z sample grid, FID and IS; the generator is exported as a
.keras file and a SavedModel for the gan policy.

  <output_dir>/checkpoints/   generator, discriminator, both optimizers (every N steps)
  <output_dir>/tensorboard/   d_loss, g_loss, learning rates, samples, fid, inception_score
  <output_dir>/generator.keras, generator/ (SavedModel), samples.png, results.json
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from kd_tf.config.gan import default_output_dir, generator_path
from kd_tf.config.paths import resolve_path
from kd_tf.data import sources, visualize
from kd_tf.data.gan_input import real_stream
from kd_tf.data.normalization import normalize
from kd_tf.errors import UserError
from kd_tf.gan import inception, scores
from kd_tf.gan.model import SNGAN
from kd_tf.models.layers import synchronized_batch_norm
from kd_tf.models.registry import build_model
from kd_tf.train import accelerator, export, storage, workers
from kd_tf.train.callbacks.gan_monitor import GanMonitor
from kd_tf.train.callbacks.preemption import SaveOnPreemption
from kd_tf.train.checkpoints import Checkpoints
from kd_tf.train.keras_workarounds import fit_on_distributed_data
from kd_tf.train.schedules import LinearDecay
from kd_tf.train.strategy import make_strategy


def build(config, properties, strategy, sync_batchnorm=False):
    """sync_batchnorm: the generator's BatchNorm over the global batch (the
    discriminator has none), so that N replicas train as one device does."""
    h, w, c = properties.image_shape
    with strategy.scope():
        with synchronized_batch_norm(sync_batchnorm):
            generator = build_model("sngan_generator", z_dim=config.z_dim, width=config.gen_width, output_size=h,
                                    channels=c)
        discriminator = build_model("sngan_discriminator", input_shape=properties.image_shape,
                                    width=config.disc_width, channels=c)
        gan = SNGAN(generator, discriminator, config.disc_steps_per_gen_step, config.seed)

        def adam(total):
            # PyTorch's Adam epsilon (1e-8), not Keras's default.
            return keras.optimizers.Adam(LinearDecay(config.lr, config.final_lr, total), beta_1=config.beta_1,
                                         beta_2=config.beta_2, epsilon=1e-8)

        gan.compile(g_optimizer=adam(config.gen_steps),
                    d_optimizer=adam(config.gen_steps * config.disc_steps_per_gen_step), jit_compile=False)
        # Create the optimizers' slots now, so that a checkpoint restores into them.
        gan.g_optimizer.build(generator.trainable_variables)
        fit_on_distributed_data(gan)
        gan.d_optimizer.build(discriminator.trainable_variables)
    return gan


class Evaluator:
    """FID (against real test images) and IS of generator samples."""

    def __init__(self, config, real_images):
        self.config = config
        self.model = inception.load(config.inception_weights)
        if self.model is not None:
            pool, logits, _ = self.model(real_images[:config.fid_samples])
            self.real = pool if config.fid_features == "pool" else logits

    def __call__(self, generator):
        if self.model is None:
            return {}
        z = tf.random.stateless_normal([self.config.fid_samples, generator.z_dim], seed=[self.config.seed, 99])
        samples = np.concatenate([np.asarray(generator(z[i:i + 500], training=False))
                                  for i in range(0, self.config.fid_samples, 500)])
        pool, logits, probabilities = self.model(samples)
        fake = pool if self.config.fid_features == "pool" else logits
        mean, _ = scores.inception_score(probabilities)
        return {f"fid_{self.config.fid_features}": scores.fid(self.real, fake), "inception_score": mean}


def run(config, runtime):
    """Trains (or resumes) a GAN in runtime.output_dir (default
    runs/gan/<dataset>); returns results.json's content."""
    config = config.resolved()
    output_dir = resolve_path(runtime.output_dir or default_output_dir(config.dataset))
    if config.gen_steps % config.checkpoint_every:
        raise UserError(f"--gen_steps={config.gen_steps} must be a multiple of --checkpoint_every="
                        f"{config.checkpoint_every}.")
    if config.fid_every and config.fid_every % config.checkpoint_every:
        raise UserError(f"--fid_every={config.fid_every} must be a multiple of --checkpoint_every="
                        f"{config.checkpoint_every}.")
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    chief = workers.is_chief(strategy)
    if chief:
        storage.makedirs(output_dir)
    dataset = sources.load(config.dataset, runtime.data_dir)
    if dataset.properties.kind != "image" or dataset.properties.streaming:
        raise UserError(f"train_gan takes an in-memory image dataset, not {config.dataset}.")
    keras.utils.set_random_seed(config.seed)
    gan = build(config, dataset.properties, strategy, accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy))
    checkpoints = Checkpoints(os.path.join(output_dir, "checkpoints"), chief, generator=gan.generator,
                              discriminator=gan.discriminator, g_optimizer=gan.g_optimizer,
                              d_optimizer=gan.d_optimizer, seed=gan.seed_generator.state)
    if checkpoints.restore():
        logging.info("Resumed from %s", checkpoints.restored)
    step = int(gan.g_optimizer.iterations.numpy())
    if chief:
        storage.write_json(os.path.join(output_dir, "config.json"), dataclasses.asdict(config))
    evaluator = Evaluator(config, np.asarray(normalize(dataset.test.images)))
    monitor = GanMonitor(gan, checkpoints, os.path.join(output_dir, "tensorboard") if chief else None, config,
                         evaluator)
    if step < config.gen_steps:
        logging.info("Training SN-GAN on %s from generator step %d to %d", config.dataset, step, config.gen_steps)
        train(gan, dataset, config, strategy, step, [monitor], checkpoints)
    results = {"generator_steps": int(gan.g_optimizer.iterations.numpy()),
               **{k: float(v) for k, v in monitor.last.items()}, "config": dataclasses.asdict(config),
               "runtime": {**dataclasses.asdict(runtime), "output_dir": output_dir}}
    save_generator(gan, output_dir, config, strategy)
    if chief:
        storage.write_json(os.path.join(output_dir, "results.json"), results)
    return results


def execute(config, runtime):
    """A study's GAN job (kd_tf.jobs.kinds): run, into runtime.output_dir."""
    run(config, runtime)


def train(gan, dataset, config, strategy, step, callbacks, checkpoints):
    """From generator step `step` to config.gen_steps, in Keras epochs of
    config.checkpoint_every steps (the first one shorter after a SIGTERM
    stopped training between two); on SIGTERM, a checkpoint of the step
    reached, then exit."""
    every = config.checkpoint_every

    def fit(first_step, epochs, steps):
        # Each worker draws only its own replicas' real images.
        data = strategy.distribute_datasets_from_function(lambda context: real_stream(
            dataset.train, dataset.properties, config.batch_size, config.seed, config.disc_steps_per_gen_step,
            start_step=first_step, input_context=context))
        gan.fit(data, epochs=epochs, initial_epoch=first_step // every, steps_per_epoch=steps,
                callbacks=[*callbacks, preemption], verbose=0)

    preemption = SaveOnPreemption(strategy, lambda: checkpoints.save(int(gan.g_optimizer.iterations.numpy())),
                                  "SN-GAN training")
    try:
        if step % every:
            fit(step, step // every + 1, every - step % every)
            step += every - step % every
        if step < config.gen_steps:
            fit(step, config.gen_steps // every, every)
    finally:
        preemption.close()


def save_generator(gan, output_dir, config, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    workers.save_as_chief(strategy, generator_path(output_dir), gan.generator.save)
    workers.save_as_chief(strategy, os.path.join(output_dir, "generator"),
                          lambda path: export.export_generator(gan.generator, path))
    if not workers.is_chief(strategy):
        return
    z = tf.random.stateless_normal([64, config.z_dim], seed=[config.seed, 7])
    samples = np.asarray(gan.sample(z))
    visualize.write_png(visualize.grid(samples, np.full(len(samples), visualize.SYNTHETIC), columns=8),
                        os.path.join(output_dir, "samples.png"))
