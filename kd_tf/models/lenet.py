"""LeNet-5 of the study's MNIST experiment (REFERENCE.md section 3).

ReLU (not tanh) and average pooling, as in the reference. Inputs are NHWC
28x28x1; the flatten is channels-last, so weights imported from the
channels-first reference need their first dense kernel permuted.
"""

import keras

from kd_tf.models.layers import torch_default_bias, torch_default_kernel


def _conv(filters, kernel, in_channels, padding, name):
    fan_in = in_channels * kernel * kernel
    return keras.layers.Conv2D(
        filters, kernel, padding=padding, activation="relu", name=name,
        kernel_initializer=torch_default_kernel(),
        bias_initializer=torch_default_bias(fan_in),
    )


def _dense(units, fan_in, activation, name):
    return keras.layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=torch_default_kernel(),
        bias_initializer=torch_default_bias(fan_in),
    )


@keras.saving.register_keras_serializable(package="kd_tf")
class LeNet5(keras.Model):
    """conv5x5(6, pad 2)-ReLU-avgpool, conv5x5(16)-ReLU-avgpool, 120-84-classes."""

    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        # PyTorch pads 2 on each side; on 28x28 that is exactly Keras "same".
        self.conv1 = _conv(6, 5, 1, "same", "conv1")
        self.pool1 = keras.layers.AveragePooling2D(2, name="pool1")
        self.conv2 = _conv(16, 5, 6, "valid", "conv2")
        self.pool2 = keras.layers.AveragePooling2D(2, name="pool2")
        self.flatten = keras.layers.Flatten(name="flatten")
        self.fc1 = _dense(120, 400, "relu", "fc1")
        self.fc2 = _dense(84, 120, "relu", "fc2")
        self.fc3 = _dense(num_classes, 84, None, "fc3")

    def call(self, x, training=False):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        return self.fc3(self.fc2(self.fc1(self.flatten(x))))

    def stage_outputs(self, x):
        """Both convolutional blocks' pooled outputs and the first dense layer's,
        LeNet-5's three stages for CKA (the reference has CKA for PreResNets only)."""
        pooled1 = self.pool1(self.conv1(x))
        pooled2 = self.pool2(self.conv2(pooled1))
        return [pooled1, pooled2, self.fc1(self.flatten(pooled2))]

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config
