"""ResNet-50 for ImageNet-size inputs (paper only; no reference code), as the
standard torchvision definition (v1.5: the stride sits in the 3x3 conv):
convolutions without bias, each followed by BatchNorm, symmetric padding.
keras.applications.ResNet50 is not used: its convolutions carry redundant
biases (26,560 extra parameters, and weight decay on them).
Names follow torchvision: conv1, bn1, layer{1..4}[j].{conv,bn}{1,2,3},
layer{s}[0].downsample_conv / downsample_bn, fc.
"""

import keras

from kd_tf.models.layers import TorchConv2D, batch_norm, torch_default_bias, torch_default_kernel


@keras.saving.register_keras_serializable(package="kd_tf")
class ResNetBottleneck(keras.layers.Layer):
    def __init__(self, planes, stride=1, downsample=False, **kwargs):
        super().__init__(**kwargs)
        self.planes, self.stride, self.has_downsample = planes, stride, downsample
        self.conv1, self.bn1 = TorchConv2D(planes, 1, name="conv1"), batch_norm("bn1")
        self.conv2, self.bn2 = TorchConv2D(planes, 3, stride, padding=1, name="conv2"), batch_norm("bn2")
        self.conv3, self.bn3 = TorchConv2D(planes * 4, 1, name="conv3"), batch_norm("bn3")
        self.downsample_conv = TorchConv2D(planes * 4, 1, stride, name="downsample_conv") if downsample else None
        self.downsample_bn = batch_norm("downsample_bn") if downsample else None

    def call(self, x, training=False):
        out = keras.ops.relu(self.bn1(self.conv1(x), training=training))
        out = keras.ops.relu(self.bn2(self.conv2(out), training=training))
        out = self.bn3(self.conv3(out), training=training)
        identity = x
        if self.downsample_conv is not None:
            identity = self.downsample_bn(self.downsample_conv(x), training=training)
        return keras.ops.relu(out + identity)

    def get_config(self):
        return {**super().get_config(), "planes": self.planes, "stride": self.stride,
                "downsample": self.has_downsample}


@keras.saving.register_keras_serializable(package="kd_tf")
class ResNet50(keras.Model):
    def __init__(self, num_classes=1000, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.conv1 = TorchConv2D(64, 7, 2, padding=3, name="conv1")
        self.bn1 = batch_norm("bn1")
        # Zero padding equals PyTorch's -inf padding here: inputs are post-ReLU.
        self.pool_pad = keras.layers.ZeroPadding2D(1)
        self.maxpool = keras.layers.MaxPooling2D(3, 2, name="maxpool")
        self.stages = []
        inplanes = 64
        for s, (planes, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1):
            stage = []
            for j in range(blocks):
                down = j == 0 and (stride != 1 or inplanes != planes * 4)
                stage.append(ResNetBottleneck(planes, stride if j == 0 else 1, down, name=f"layer{s}_{j}"))
                inplanes = planes * 4
            self.stages.append(stage)
        self.layer1, self.layer2, self.layer3, self.layer4 = self.stages
        self.pool = keras.layers.GlobalAveragePooling2D(name="avgpool")
        self.fc = keras.layers.Dense(num_classes, name="fc", kernel_initializer=torch_default_kernel(),
                                     bias_initializer=torch_default_bias(2048))

    def call(self, x, training=False):
        x = keras.ops.relu(self.bn1(self.conv1(x), training=training))
        x = self.maxpool(self.pool_pad(x))
        for stage in self.stages:
            for block in stage:
                x = block(x, training=training)
        return self.fc(self.pool(x))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
