"""Training recipes (REFERENCE.md section 5), and their scaled-down versions
for the embedded dataset, which must train in minutes on two CPU cores.
kd_tf.config.datasets says which dataset uses which."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    final_lr: float
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    train_size: int | None = None  # None: the whole train split
    warmup_epochs: int = 0  # linear ramp to lr before the cosine


# The reference trains teachers with Nesterov too (the paper says plain momentum).
TEACHER = Recipe(epochs=200, batch_size=256, lr=0.1, final_lr=0.0)
STUDENT = Recipe(epochs=300, batch_size=128, lr=0.05, final_lr=1e-6)

# mnist5k: teachers on a 1,000-example subset (the paper's MNIST teachers see 200
# examples), students distil on all 4,000 training examples.
EMBEDDED_TEACHER = dataclasses.replace(TEACHER, epochs=30, batch_size=64, train_size=1000)
EMBEDDED_STUDENT = dataclasses.replace(STUDENT, epochs=20)

# MNIST (appendix): one LeNet-5 teacher on 200 examples for 100 epochs, with the
# reference's trainer (lr 0.05 -> 1e-6, Nesterov, weight decay 1e-4). Batch 100:
# two static batches an epoch, where the reference's 128 leaves a last batch of 72.
MNIST_TEACHER = dataclasses.replace(STUDENT, epochs=100, batch_size=100, train_size=200)

# IMDB BiLSTM: 100 epochs, lr 1e-2, weight decay 1e-3, batch 100 (paper appendix).
IMDB = Recipe(epochs=100, batch_size=100, lr=0.01, final_lr=0.0, weight_decay=1e-3)
# ImageNet ResNet-50: 90 epochs, SGD momentum 0.9, cosine after a 5-epoch linear
# warm-up to 0.1, batch 1024; weight decay 1e-4 for teachers, none for students.
IMAGENET_TEACHER = Recipe(epochs=90, batch_size=1024, lr=0.1, final_lr=0.0, nesterov=False, warmup_epochs=5)
IMAGENET_STUDENT = dataclasses.replace(IMAGENET_TEACHER, weight_decay=0.0)


# --optimizer=adam: the reference has no Adam config for classifiers; torch.optim.Adam's default lr.
ADAM_LR = 1e-3


@dataclasses.dataclass(frozen=True)
class GanRecipe:
    """SN-GAN training (REFERENCE.md section 5): hinge loss, Adam with betas
    (0, 0.9) and PyTorch's epsilon, lr decayed linearly to final_lr."""
    gen_steps: int = 100_000
    disc_steps_per_gen_step: int = 5
    batch_size: int = 128
    gen_width: int = 256
    disc_width: int = 128
    checkpoint_every: int = 1000  # generator steps between checkpoints, logs and samples
    lr: float = 2e-4
    final_lr: float = 1e-6
    beta_1: float = 0.0
    beta_2: float = 0.9
    z_dim: int = 128


GAN = GanRecipe()
# The quick generator of the embedded data: minutes on two cores.
EMBEDDED_GAN = GanRecipe(gen_steps=2000, disc_steps_per_gen_step=2, batch_size=64, gen_width=32, disc_width=32,
                         checkpoint_every=200)
