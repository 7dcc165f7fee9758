"""Generators for the gan policy: a .keras model or a SavedModel mapping
z [n, z_dim] to images [n, h, w, c] in [-1, 1].

The reference samples with its generator in training mode (it never calls
eval()), so BatchNorm normalises each synthetic batch with its own
statistics. kd_tf does the same by default (batch_norm="batch") on a copy of
the generator whose BatchNorm layers have momentum 1: the batch statistics
are used and the moving averages stay exactly as loaded.
"""

import dataclasses

import keras
import tensorflow as tf

from kd_tf.errors import UserError


@dataclasses.dataclass(frozen=True)
class Generator:
    fn: object  # z -> images
    z_dim: int
    image_shape: tuple
    source: str
    model: object = None  # the Keras model that samples, for .keras generators

    def __call__(self, z):
        return self.fn(z)


def batch_statistics_copy(model, z_dim):
    """A copy of `model` whose BatchNorm layers normalise with the statistics
    of the batch and leave their moving averages unchanged (momentum 1)."""
    copy = type(model).from_config(model.get_config())
    copy(tf.zeros([2, z_dim]), training=False)
    copy.set_weights(model.get_weights())
    for layer in copy._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 1.0
    return copy


def load(path, batch_norm="batch"):
    """batch_norm: "batch" (each synthetic batch's statistics, as the
    reference samples) or "moving" (the moving averages, inference mode)."""
    if not tf.io.gfile.exists(path):
        raise UserError(f"--generator={path} does not exist. Train one with "
                        "`bazel run //experiments:train_gan`, or pass a .keras file or SavedModel.")
    if path.endswith(".keras"):
        # `import kd_tf` registered the SN-GAN architectures with Keras.
        model = keras.saving.load_model(path, compile=False)
        z_dim = int(model.z_dim) if hasattr(model, "z_dim") else int(model.input_shape[-1])
        probe = model(tf.zeros([1, z_dim]), training=False)
        if batch_norm == "batch":
            sampler = batch_statistics_copy(model, z_dim)
            return Generator(lambda z: sampler(z, training=True), z_dim, tuple(probe.shape[1:]), path, sampler)
        return Generator(lambda z: model(z, training=False), z_dim, tuple(probe.shape[1:]), path, model)
    if batch_norm == "batch":
        raise UserError(f"--generator={path} is a SavedModel, which samples in inference mode only; pass its "
                        ".keras file (train_gan writes both) for --generator_bn=batch, the reference's sampling, "
                        "or --generator_bn=moving.")
    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise UserError(f"The SavedModel {path} has no serving_default signature (z -> images).")
    signature = loaded.signatures["serving_default"]
    (name, spec), = signature.structured_input_signature[1].items()
    z_dim = int(spec.shape[-1])

    def fn(z):
        outputs = signature(**{name: z})
        return outputs["images"] if "images" in outputs else next(iter(outputs.values()))

    probe = fn(tf.zeros([1, z_dim]))
    # Keep the loaded object alive as long as the function is.
    fn.saved_model = loaded
    return Generator(fn, z_dim, tuple(probe.shape[1:]), path)


def check_matches(generator, image_shape):
    if tuple(generator.image_shape) != tuple(image_shape):
        raise UserError(f"The generator {generator.source} makes {tuple(generator.image_shape)} images; "
                        f"the dataset's are {tuple(image_shape)}.")
