"""Architectures by name: the one place that maps a flag value to a model."""

import keras

from kd_tf.models.lenet import LeNet5

# name -> (constructor, input shape the architecture is defined for)
ARCHITECTURES = {
    "lenet5": (LeNet5, (28, 28, 1)),
}


def build_model(name, num_classes, input_shape=None):
    """Returns a built model; building creates the variables, so that
    parameter counts and weight copies work before the first call."""
    if name not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}."
        )
    constructor, default_shape = ARCHITECTURES[name]
    shape = tuple(input_shape or default_shape)
    model = constructor(num_classes=num_classes, name=name)
    # Subclassed models build their layers on the first call.
    model(keras.ops.zeros((1,) + shape))
    return model
