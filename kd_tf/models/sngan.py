"""SN-GAN generator and discriminator (REFERENCE.md section 3).

Generator: z ~ N(0, I) -> dense to s x s x k -> residual up-blocks
(BN-ReLU-bilinear x2-conv3x3-BN-ReLU-conv3x3, plus the upsampled identity) ->
BN-ReLU-conv3x3 -> tanh, so samples lie in [-1, 1] like normalised data.
32x32x3 uses s = 4 and 3 blocks; output size and channels are configurable
(28x28x1: s = 7 and 2 blocks).

Discriminator: a first block (conv-ReLU-conv, avgpool, plus avgpooled 1x1
conv bypass), a downsampling block, blocks without pooling, ReLU, global
average pool, dense to 1. Spectral normalisation on every conv and dense.
Xavier-uniform initialisation throughout.
"""

import keras

from kd_tf.models.layers import TorchConv2D, batch_norm, torch_default_bias

XAVIER = keras.initializers.GlorotUniform


def _conv(filters, kernel, name, fan_in):
    return TorchConv2D(filters, kernel, 1, padding=kernel // 2, use_bias=True, name=name,
                       kernel_initializer=XAVIER(), bias_initializer=torch_default_bias(fan_in))


def _sn_conv(filters, kernel, in_channels, name):
    """A spectrally normalised stride-1 conv with PyTorch's padding, kernel // 2
    on every side: for an odd kernel that is "same", done inside the
    convolution (no Pad op forward, no Slice in the gradient), as TorchConv2D
    does. The `_Padded` wrapper stays, with no padding, so that checkpoints
    keep their layout; models saved with an explicit pad load as saved."""
    conv = keras.layers.Conv2D(filters, kernel, padding="same" if kernel % 2 else "valid", use_bias=True,
                               name=f"{name}_conv", kernel_initializer=XAVIER(),
                               bias_initializer=torch_default_bias(in_channels * kernel * kernel))
    padding = 0 if kernel % 2 else kernel // 2
    return _Padded(keras.layers.SpectralNormalization(conv, name=name), padding, name=f"{name}_pad")


@keras.saving.register_keras_serializable(package="kd_tf")
class _Padded(keras.layers.Layer):
    def __init__(self, layer, padding, **kwargs):
        super().__init__(**kwargs)
        self.layer, self.padding = layer, padding
        self.pad = keras.layers.ZeroPadding2D(padding) if padding else None

    def call(self, x, training=False):
        return self.layer(self.pad(x) if self.pad is not None else x, training=training)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer),
                "padding": self.padding}

    @classmethod
    def from_config(cls, config):
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _bn(name):
    return batch_norm(name)


@keras.saving.register_keras_serializable(package="kd_tf")
class GeneratorBlock(keras.layers.Layer):
    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.bn1, self.bn2 = _bn("bn1"), _bn("bn2")
        self.up = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")
        self.conv1 = _conv(width, 3, "conv1", width * 9)
        self.conv2 = _conv(width, 3, "conv2", width * 9)

    def call(self, x, training=False):
        out = self.conv1(self.up(keras.ops.relu(self.bn1(x, training=training))))
        out = self.conv2(keras.ops.relu(self.bn2(out, training=training)))
        return out + self.up(x)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="kd_tf")
class SNGANGenerator(keras.Model):
    def __init__(self, z_dim=128, width=256, output_size=32, channels=3, num_blocks=None, **kwargs):
        super().__init__(**kwargs)
        num_blocks = num_blocks or (3 if output_size % 8 == 0 else 2)
        if output_size % (2 ** num_blocks):
            raise ValueError(f"output_size {output_size} is not divisible by 2^{num_blocks}.")
        self.z_dim, self.width, self.output_size, self.channels, self.num_blocks = (
            z_dim, width, output_size, channels, num_blocks)
        self.bottom = output_size // 2 ** num_blocks
        self.dense = keras.layers.Dense(self.bottom * self.bottom * width, name="dense",
                                        kernel_initializer=XAVIER(), bias_initializer=torch_default_bias(z_dim))
        self.blocks = [GeneratorBlock(width, name=f"block{i + 1}") for i in range(num_blocks)]
        self.bn = _bn("bn")
        self.final = _conv(channels, 3, "final", width * 9)

    def call(self, z, training=False):
        x = keras.ops.reshape(self.dense(z), (-1, self.bottom, self.bottom, self.width))
        for block in self.blocks:
            x = block(x, training=training)
        return keras.ops.tanh(self.final(keras.ops.relu(self.bn(x, training=training))))

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "width": self.width,
                "output_size": self.output_size, "channels": self.channels, "num_blocks": self.num_blocks}


@keras.saving.register_keras_serializable(package="kd_tf")
class DiscriminatorBlock(keras.layers.Layer):
    """first: conv-ReLU-conv-pool + pool-1x1conv bypass; otherwise
    ReLU-conv-ReLU-conv[-pool] + [pooled] identity."""

    def __init__(self, width, in_channels, first=False, downsample=False, **kwargs):
        super().__init__(**kwargs)
        self.width, self.in_channels, self.first, self.downsample = width, in_channels, first, downsample
        self.conv1 = _sn_conv(width, 3, in_channels, "conv1")
        self.conv2 = _sn_conv(width, 3, width, "conv2")
        self.pool = keras.layers.AveragePooling2D(2, name="pool") if first or downsample else None
        self.bypass_conv = _sn_conv(width, 1, in_channels, "bypass_conv") if first else None

    def call(self, x, training=False):
        out = x if self.first else keras.ops.relu(x)
        out = self.conv2(keras.ops.relu(self.conv1(out, training=training)), training=training)
        if self.pool is not None:
            out = self.pool(out)
        bypass = self.pool(x) if self.pool is not None else x
        if self.bypass_conv is not None:
            bypass = self.bypass_conv(bypass, training=training)
        return out + bypass

    def get_config(self):
        return {**super().get_config(), "width": self.width, "in_channels": self.in_channels,
                "first": self.first, "downsample": self.downsample}


@keras.saving.register_keras_serializable(package="kd_tf")
class SNGANDiscriminator(keras.Model):
    def __init__(self, width=128, channels=3, **kwargs):
        super().__init__(**kwargs)
        self.width, self.channels = width, channels
        self.blocks = [
            DiscriminatorBlock(width, channels, first=True, name="block1"),
            DiscriminatorBlock(width, width, downsample=True, name="block2"),
            DiscriminatorBlock(width, width, name="block3"),
            DiscriminatorBlock(width, width, name="block4"),
        ]
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        dense = keras.layers.Dense(1, name="fc_dense", kernel_initializer=XAVIER(),
                                   bias_initializer=torch_default_bias(width))
        self.fc = keras.layers.SpectralNormalization(dense, name="fc")

    def call(self, x, training=False):
        for block in self.blocks:
            x = block(x, training=training)
        return self.fc(self.pool(keras.ops.relu(x)), training=training)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "channels": self.channels}
