"""Building blocks shared by the architectures, configured as the PyTorch
reference is: BatchNorm momentum 0.9 (PyTorch's 0.1) and epsilon 1e-5, and
convolutions padded symmetrically (Keras "same" pads asymmetrically at
stride 2, which would shift every feature map relative to the reference)."""

import contextlib
import math

import keras

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def he_normal_fan_out():
    """N(0, sqrt(2 / (k * k * out_channels))), the reference's conv init."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal")


def torch_default_kernel():
    """PyTorch's default Conv/Linear weight init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def torch_default_bias(fan_in):
    """PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


_synchronized = [False]


@contextlib.contextmanager
def synchronized_batch_norm(enabled=True):
    """BatchNorm layers created inside average their statistics over all
    replicas (the global batch), as one device on that batch would; only the
    TensorFlow backend under a tf.distribute strategy supports it."""
    previous, _synchronized[0] = _synchronized[0], bool(enabled)
    try:
        yield
    finally:
        _synchronized[0] = previous


@keras.saving.register_keras_serializable(package="kd_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras's BatchNormalization, in one kernel per call on the TensorFlow
    backend: FusedBatchNormV3 takes bf16/fp16 inputs with float32 statistics,
    where Keras casts every activation to float32 and back and normalises in
    several ops. The moving statistics are updated as Keras updates them
    (biased batch variance), so that results do not depend on the path.
    Other backends, synchronised BatchNorm and masks take Keras's path."""

    def call(self, inputs, training=None, mask=None):
        if (keras.backend.backend() != "tensorflow" or self.synchronized or mask is not None or self.renorm
                or len(inputs.shape) != 4 or self.axis not in (-1, 3) or not (self.center and self.scale)
                or not isinstance(training, (bool, type(None)))):
            return super().call(inputs, training=training, mask=mask)
        return _fused_batch_norm(self, inputs, bool(training) and self.trainable)


def _fused_batch_norm(layer, inputs, training):
    import tensorflow as tf  # the TensorFlow backend's kernel

    x = tf.cast(inputs, "float32") if inputs.dtype == tf.float64 else inputs
    if not training:
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x, layer.gamma.value, layer.beta.value, mean=layer.moving_mean.value,
            variance=layer.moving_variance.value, epsilon=layer.epsilon, is_training=False)
        return outputs
    outputs, mean, unbiased = tf.compat.v1.nn.fused_batch_norm(x, layer.gamma.value, layer.beta.value,
                                                               epsilon=layer.epsilon, is_training=True)
    rows = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), "float32")
    variance = unbiased * (rows - 1.0) / rows  # the kernel's variance is Bessel-corrected
    layer.moving_mean.assign(layer.moving_mean * layer.momentum + mean * (1.0 - layer.momentum))
    layer.moving_variance.assign(layer.moving_variance * layer.momentum + variance * (1.0 - layer.momentum))
    return outputs


def batch_norm(name):
    return BatchNorm(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name, synchronized=_synchronized[0])


def layer_norm(name):
    """LayerNorm over (H, W, C) with a per-channel scale and shift: GroupNorm
    with one group, the drop-in for BatchNorm2d in the paper's section 6.2."""
    return keras.layers.GroupNormalization(groups=1, epsilon=BN_EPSILON, name=name)


def norm(kind, name):
    return {"batch": batch_norm, "layer": layer_norm}[kind](name)


@keras.saving.register_keras_serializable(package="kd_tf")
class TorchConv2D(keras.layers.Layer):
    """Conv2D with PyTorch's symmetric zero padding, at any stride."""

    def __init__(self, filters, kernel_size, strides=1, padding=0, use_bias=False,
                 kernel_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.padding = filters, kernel_size, strides, padding
        self.use_bias = use_bias
        # At stride 1 an odd kernel's "same" is this symmetric padding, done inside the
        # convolution: no Pad op in the forward pass and no Slice in its gradient.
        same = strides == 1 and padding * 2 + 1 == kernel_size
        self.pad = keras.layers.ZeroPadding2D(padding) if padding and not same else None
        self.conv = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same" if same else "valid", use_bias=use_bias,
            kernel_initializer=kernel_initializer or he_normal_fan_out(),
            bias_initializer=bias_initializer, name="conv")

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.pad is not None:
            self.pad.build(shape)
            shape = self.pad.compute_output_shape(shape)
        self.conv.build(shape)
        self.built = True

    def call(self, x):
        return self.conv(self.pad(x) if self.pad is not None else x)

    @property
    def kernel(self):
        return self.conv.kernel

    @property
    def bias(self):
        return self.conv.bias

    def compute_output_shape(self, input_shape):
        shape = self.pad.compute_output_shape(input_shape) if self.pad is not None else input_shape
        return self.conv.compute_output_shape(shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "use_bias": self.use_bias}
