"""Architectures by name: the one place that maps a flag value to a model.

Names: lenet5; preresnet<depth>[_noskip][_layernorm] (depth 6n+2 < 44 or
9n+2 >= 44); vgg16, vgg19 and their _bn variants; bilstm; resnet50;
sngan_generator, sngan_discriminator.
"""

import dataclasses
import re

import keras

from kd_tf.models.bilstm import BiLSTMClassifier
from kd_tf.models.lenet import LeNet5
from kd_tf.models.preresnet import PreResNet, blocks_per_stage
from kd_tf.models.resnet50 import ResNet50
from kd_tf.models.sngan import SNGANDiscriminator, SNGANGenerator
from kd_tf.models.vgg import VGG


@dataclasses.dataclass(frozen=True)
class Spec:
    constructor: type
    kwargs: dict
    input_shape: object  # the shape the architecture is defined for, or arguments -> shape
    input_dtype: str = "float32"
    classifier: bool = True  # takes num_classes


# Names with a fixed meaning; preresnet<depth>... is parsed.
ARCHITECTURES = {
    "lenet5": Spec(LeNet5, {}, (28, 28, 1)),
    "vgg16": Spec(VGG, {"depth": 16}, (32, 32, 3)),
    "vgg16_bn": Spec(VGG, {"depth": 16, "batch_norm": True}, (32, 32, 3)),
    "vgg19": Spec(VGG, {"depth": 19}, (32, 32, 3)),
    "vgg19_bn": Spec(VGG, {"depth": 19, "batch_norm": True}, (32, 32, 3)),
    "bilstm": Spec(BiLSTMClassifier, {}, (100,), "int32"),
    "resnet50": Spec(ResNet50, {}, (224, 224, 3)),
    "sngan_generator": Spec(SNGANGenerator, {}, lambda arguments: (arguments.get("z_dim", 128),), classifier=False),
    "sngan_discriminator": Spec(SNGANDiscriminator, {}, (32, 32, 3), classifier=False),
}

_PRERESNET = re.compile(r"^preresnet(\d+)((?:_noskip|_layernorm)*)$")


def spec(name):
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    match = _PRERESNET.match(name)
    if match:
        depth, variants = int(match.group(1)), match.group(2)
        blocks_per_stage(depth)  # validates the depth
        kwargs = {"depth": depth, "skip": "_noskip" not in variants,
                  "norm_kind": "layer" if "_layernorm" in variants else "batch"}
        return Spec(PreResNet, kwargs, (32, 32, 3))
    raise ValueError(
        f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)} or "
        "preresnet<depth>[_noskip][_layernorm] (e.g. preresnet56)."
    )


def build_model(name, num_classes=None, input_shape=None, **kwargs):
    """Returns a built model (variables created, so that parameter counts and
    weight copies work before training). kwargs override the architecture's
    constructor arguments (e.g. cells=100 for bilstm, width=64 for SN-GAN)."""
    s = spec(name)
    arguments = {**s.kwargs, **kwargs}
    if s.classifier:
        if num_classes is None:
            raise ValueError(f"{name} needs num_classes.")
        arguments["num_classes"] = num_classes
    default_shape = s.input_shape(arguments) if callable(s.input_shape) else s.input_shape
    shape = tuple(input_shape or default_shape)
    model = s.constructor(name=name, **arguments)
    # Subclassed models build their layers on the first call.
    model(keras.ops.zeros((1,) + shape, dtype=s.input_dtype))
    return model
