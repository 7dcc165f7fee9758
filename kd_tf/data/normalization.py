"""The one definition of input normalisation ("unitcube"): pixels in [0, 1]
map to [-1, 1], the range of the SN-GAN generator's tanh output too."""

import tensorflow as tf


def unit_interval(images_uint8):
    return tf.cast(images_uint8, tf.float32) / 255.0


def to_model_range(images_unit):
    """[0, 1] -> [-1, 1]."""
    return images_unit * 2.0 - 1.0


def normalize(images_uint8):
    return to_model_range(unit_interval(images_uint8))


def to_unit_interval(images_model_range):
    """[-1, 1] -> [0, 1]; plain arithmetic, so numpy arrays work too."""
    return (images_model_range + 1.0) / 2.0
