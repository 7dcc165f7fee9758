"""A static set of SN-GAN samples: the paper's enlarged distillation sets
(section 6.1, Fig 1) add 12.5k to 50k pre-generated images to CIFAR-100,
unlike the gan policy, which draws new ones for every batch. Sample i is a
function of (SEED, i // BATCH) alone, so that a smaller set is a prefix of a
larger one and a rerun regenerates exactly the same images."""

import numpy as np
import tensorflow as tf

from kd_tf.data.catalog import Split

SEED = 0
BATCH = 500  # samples per generator call; BatchNorm in batch mode sees batches of this size


def generate(generator, count, seed=SEED):
    """`count` samples as uint8 images, the way a saved dataset holds them."""
    batches = []
    for b in range(-(-count // BATCH)):
        z = tf.random.stateless_normal([BATCH, generator.z_dim], seed=[seed, b])
        images = tf.convert_to_tensor(generator(z), tf.float32)  # [-1, 1]
        batches.append(tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)), tf.uint8).numpy())
    return np.concatenate(batches)[:count]


def as_split(images):
    """Unlabelled rows (label -1: no true class), like out-of-domain images."""
    return Split(images, np.full(len(images), -1, np.int64))
