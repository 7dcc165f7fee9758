"""The configuration of an SN-GAN's training (experiments/train_gan)."""

import dataclasses
import os

from kd_tf.config import choices
from kd_tf.config.options import option, with_dataset_defaults


@dataclasses.dataclass(frozen=True)
class GanConfig:
    dataset: str = option("mnist5k", "Dataset (an in-memory image dataset).", choices=choices.DATASETS)
    gen_steps: int | None = option(None, "Generator steps.", lower=1, per_dataset="gan.gen_steps")
    disc_steps_per_gen_step: int | None = option(None, "Discriminator steps per generator step.", lower=1,
                                                 per_dataset="gan.disc_steps_per_gen_step")
    batch_size: int | None = option(None, "Batch per step.", lower=1, per_dataset="gan.batch_size")
    lr: float | None = option(None, "Adam learning rate, decayed linearly to --final_lr.", lower=0.0,
                              per_dataset="gan.lr")
    final_lr: float | None = option(None, "Learning rate at the last step.", lower=0.0, per_dataset="gan.final_lr")
    beta_1: float | None = option(None, "Adam beta_1.", lower=0.0, upper=1.0, per_dataset="gan.beta_1")
    beta_2: float | None = option(None, "Adam beta_2.", lower=0.0, upper=1.0, per_dataset="gan.beta_2")
    z_dim: int | None = option(None, "Latent dimension.", lower=1, per_dataset="gan.z_dim")
    gen_width: int | None = option(None, "Generator width k.", lower=1, per_dataset="gan.gen_width")
    disc_width: int | None = option(None, "Discriminator width.", lower=1, per_dataset="gan.disc_width")
    checkpoint_every: int | None = option(None, "Generator steps between checkpoints, samples and logs.", lower=1,
                                          per_dataset="gan.checkpoint_every")
    fid_samples: int = option(5000, "Samples for FID and IS.", lower=10)
    fid_every: int = option(0, "Also compute FID and IS every N generator steps (a multiple of "
                            "--checkpoint_every); 0: at the end only.", lower=0)
    fid_features: str = option("pool", "FID on Inception pool3 features (standard) or 1,000-way logits "
                               "(the reference's).", choices=choices.FID_FEATURES)
    inception_weights: str | None = option(None, "Keras InceptionV3 weights (.h5); without them and offline, FID "
                                           "and IS are skipped with a warning.")
    seed: int = option(0, "Seed.")

    def resolved(self):
        return with_dataset_defaults(self, self.dataset)


def default_output_dir(dataset):
    return os.path.join("runs", "gan", dataset.replace("/", "_"))


def generator_path(output_dir):
    return os.path.join(output_dir, "generator.keras")
