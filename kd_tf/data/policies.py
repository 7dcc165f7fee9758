"""Per-example augmentation, stateless: the randomness of an example is a
function of its key alone, derived from (run seed, epoch, example index). The
same seed therefore gives the same inputs at any parallelism or replica count.

Images arrive as float32 in [0, 1] (pixel space, where padding is black and
noise is uniform) and leave in the same space; normalisation comes after.
"""

import tensorflow as tf

# Policies with a per-example stage, and whether each ends with baseline.
EXAMPLE_POLICIES = {"none": False, "baseline": True, "mixup": True}


def random_flip(image, key):
    return tf.image.stateless_random_flip_left_right(image, seed=key)


def random_pad_crop(image, key, padding):
    """Zero-pad `padding` pixels on every side, then crop back at a random offset
    (PyTorch's RandomCrop(size, padding))."""
    if padding <= 0:
        return image
    shape = tf.shape(image)
    padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
    return tf.image.stateless_random_crop(padded, size=shape, seed=key)


def baseline(image, key, properties):
    """Horizontal flip p=0.5 (where it preserves labels), then pad and crop."""
    flip_key, crop_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    if properties.hflip:
        image = random_flip(image, flip_key)
    return random_pad_crop(image, crop_key, properties.crop_padding)


def augment_example(image, key, policy, properties):
    if policy not in EXAMPLE_POLICIES:
        raise ValueError(f"Unknown policy {policy!r}; choose one of {sorted(EXAMPLE_POLICIES)}.")
    if EXAMPLE_POLICIES[policy]:
        image = baseline(image, key, properties)
    return image
