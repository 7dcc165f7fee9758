"""Initialisers that reproduce PyTorch's defaults, so that Keras models start
from the same distribution as the reference."""

import math

import keras


def torch_default_kernel(fan_in):
    """PyTorch's default for Conv/Linear weights: kaiming_uniform(a=sqrt(5)),
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    del fan_in  # VarianceScaling reads fan_in from the kernel shape.
    return keras.initializers.VarianceScaling(
        scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
    )


def torch_default_bias(fan_in):
    """PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)
