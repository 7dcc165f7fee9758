"""Out-of-domain images for the ood policy: `count` training images of
another dataset (the study: 10,000 SVHN images), chosen with a fixed seed and
converted to the distillation images' shape.

`sample_photos` is an embedded source for offline runs: random crops of the
two photographs scikit-learn ships (natural images, unlike any digit).
"""

import numpy as np
import tensorflow as tf

from kd_tf.data import sources
from kd_tf.data.catalog import Split
from kd_tf.errors import UserError

OOD_SEED = 0
EMBEDDED = "sample_photos"


def convert(images, image_shape):
    """uint8 images to another (h, w, c): bilinear resize, RGB <-> grayscale."""
    h, w, c = image_shape
    x = tf.image.resize(tf.cast(images, tf.float32), (h, w), antialias=True)
    if x.shape[-1] == 3 and c == 1:
        x = tf.image.rgb_to_grayscale(x)
    elif x.shape[-1] == 1 and c == 3:
        x = tf.image.grayscale_to_rgb(x)
    return np.asarray(tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8))


def sample_photo_crops(count, size, seed=OOD_SEED):
    """Random square crops (1/8 to 1/2 of the short side) of scikit-learn's
    sample photos, resized to `size` (h, w), RGB uint8."""
    try:
        from sklearn.datasets import load_sample_images
    except ImportError as e:
        raise UserError("--ood_dataset=sample_photos needs scikit-learn (in requirements.txt).") from e
    photos = np.stack(load_sample_images().images).astype(np.float32)  # [2, 427, 640, 3]
    _, height, width, _ = photos.shape
    rng = np.random.default_rng(seed)
    side = rng.uniform(1 / 8, 1 / 2, count) * min(height, width)
    top = rng.uniform(0, 1, count) * (height - side)
    left = rng.uniform(0, 1, count) * (width - side)
    boxes = np.stack([top / height, left / width, (top + side) / height, (left + side) / width], axis=1)
    crops = tf.image.crop_and_resize(photos, boxes.astype(np.float32), rng.integers(0, len(photos), count), size)
    return np.clip(np.round(np.asarray(crops)), 0, 255).astype(np.uint8)


def load(name, count, image_shape, data_dir=None, seed=OOD_SEED):
    """A Split of `count` out-of-domain images shaped like the distillation
    data, labels -1."""
    if name == EMBEDDED:
        images = sample_photo_crops(count, image_shape[:2], seed)
    else:
        train = sources.load(name, data_dir).train
        if count > len(train):
            raise UserError(f"--ood_count={count} is more than the {len(train)} training images of {name}.")
        images = train.images[np.sort(np.random.default_rng(seed).choice(len(train), count, replace=False))]
    return Split(convert(images, image_shape), np.full(count, -1, np.int64))
