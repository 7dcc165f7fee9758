"""Per-example augmentation, stateless: the randomness of an example is a
function of its key alone, derived from (run seed, epoch, example index). The
same seed therefore gives the same inputs at any parallelism or replica count.

Images arrive as float32 in [0, 1] (pixel space, where padding is black and
noise is uniform) and leave in the same space; normalisation comes after.
Semantics follow the reference's torchvision transforms.
"""

import dataclasses
import math

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Options:
    rotation_degrees: float = 20.0  # the paper's; the reference config's default of 90 is not
    jitter_strength: float = 0.2  # brightness, contrast, saturation and hue
    noise_prob: float = 0.2


# policy -> per-example stages, in order. Batch stages (mixup, gan rows) and
# dataset-level additions (ood rows) are in batch_ops and pipeline.
POLICY_STAGES = {
    "none": (),
    "baseline": ("baseline",),
    "rotation": ("rotation", "baseline"),
    "vflip": ("vflip", "baseline"),
    "color_jitter": ("color_jitter", "baseline"),
    "combined": ("rotation", "vflip", "color_jitter", "baseline"),
    "mixup": ("baseline",),
    "gan": ("baseline",),
    "noise": ("baseline", "noise"),
    "ood": ("baseline",),
}


def random_pad_crop(image, key, padding):
    """Zero-pad `padding` pixels on every side, then crop back at a random offset
    (torchvision's RandomCrop(size, padding))."""
    if padding <= 0:
        return image
    padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
    return tf.image.stateless_random_crop(padded, size=tf.shape(image), seed=key)


def baseline(image, key, properties):
    """Horizontal flip p=0.5 (where it preserves labels), then pad and crop."""
    flip_key, crop_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    if properties.hflip:
        image = tf.image.stateless_random_flip_left_right(image, seed=flip_key)
    return random_pad_crop(image, crop_key, properties.crop_padding)


def vflip(image, key):
    return tf.image.stateless_random_flip_up_down(image, seed=key)


def rotation_angle(key, max_degrees):
    """Uniform on [-max_degrees, max_degrees], in radians."""
    degrees = tf.random.stateless_uniform([], seed=key, minval=-max_degrees, maxval=max_degrees)
    return degrees * (math.pi / 180.0)


def rotate(image, angle):
    """Rotation about the centre, nearest-neighbour, black fill (torchvision's
    RandomRotation defaults)."""
    h, w = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel (x, y) reads input pixel R^-1 (x - c) + c.
    transform = tf.stack([cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy, 0.0, 0.0])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")
    return tf.reshape(out[0], tf.shape(image))


def _grayscale(image):
    if image.shape[-1] == 1:
        return image
    return tf.reduce_sum(image * tf.constant([0.299, 0.587, 0.114]), axis=-1, keepdims=True)


def color_jitter(image, key, strength):
    """torchvision's ColorJitter(s, s, s, s): brightness, contrast and
    saturation factors in [1-s, 1+s], hue shift in [-s, s], in a random order.
    Saturation and hue do nothing to single-channel images, as in torchvision."""
    keys = tf.unstack(tf.random.experimental.stateless_split(key, 5))

    def factor(k):
        return tf.random.stateless_uniform([], seed=k, minval=1 - strength, maxval=1 + strength)

    brightness, contrast, saturation = factor(keys[0]), factor(keys[1]), factor(keys[2])
    hue = tf.random.stateless_uniform([], seed=keys[3], minval=-strength, maxval=strength)
    colour = image.shape[-1] == 3
    ops = [
        lambda x: tf.clip_by_value(x * brightness, 0.0, 1.0),
        lambda x: tf.clip_by_value((x - tf.reduce_mean(_grayscale(x))) * contrast + tf.reduce_mean(_grayscale(x)),
                                   0.0, 1.0),
        lambda x: tf.clip_by_value((x - _grayscale(x)) * saturation + _grayscale(x), 0.0, 1.0) if colour else x,
        lambda x: tf.image.adjust_hue(x, hue) if colour else x,
    ]
    order = tf.random.experimental.stateless_shuffle(tf.range(4), seed=keys[4])
    shape = image.shape
    for position in range(4):
        image = tf.switch_case(order[position], [lambda op=op, x=image: op(x) for op in ops])
        image.set_shape(shape)
    return image


def uniform_noise(image, key, prob):
    """With probability `prob`, the image is replaced by U[0, 1]^d noise.
    Returns (image, replaced)."""
    coin_key, noise_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    replaced = tf.random.stateless_uniform([], seed=coin_key) < prob
    noise = tf.random.stateless_uniform(tf.shape(image), seed=noise_key)
    return tf.where(replaced, noise, image), replaced


def augment_example(image, key, policy, properties, options=Options()):
    """Returns (image, has_label): noise rows lose their true label."""
    if policy not in POLICY_STAGES:
        raise ValueError(f"Unknown policy {policy!r}; choose one of {sorted(POLICY_STAGES)}.")
    has_label = tf.constant(True)
    shape = image.shape
    for index, stage in enumerate(POLICY_STAGES[policy]):
        stage_key = tf.random.experimental.stateless_fold_in(key, index)
        if stage == "baseline":
            image = baseline(image, stage_key, properties)
        elif stage == "rotation":
            image = rotate(image, rotation_angle(stage_key, options.rotation_degrees))
        elif stage == "vflip":
            image = vflip(image, stage_key)
        elif stage == "color_jitter":
            image = color_jitter(image, stage_key, options.jitter_strength)
        elif stage == "noise":
            image, replaced = uniform_noise(image, stage_key, options.noise_prob)
            has_label = tf.logical_not(replaced)
        image.set_shape(shape)
    return image, has_label
