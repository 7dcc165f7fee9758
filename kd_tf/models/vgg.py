"""VGG for 32x32 inputs, as the reference adapts torchvision's: conv3x3 (bias,
pad 1) stacks with 2x2 max pools, then Dropout-512-ReLU-Dropout-512-ReLU-classes.
Layer names follow the reference's Sequential indices (features_<i>,
classifier_<i>), so that features.{i}.* and classifier.{1,4,6}.* map directly.
"""

import keras

from kd_tf.models import layers
from kd_tf.models.layers import TorchConv2D, torch_default_bias, torch_default_kernel

CONFIGS = {
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}


@keras.saving.register_keras_serializable(package="kd_tf")
class VGG(keras.Model):
    def __init__(self, depth=16, num_classes=10, batch_norm=False, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if depth not in CONFIGS:
            raise ValueError(f"VGG depth must be one of {sorted(CONFIGS)}, got {depth}.")
        self.depth, self.num_classes, self.batch_norm, self.dropout = depth, num_classes, batch_norm, dropout
        self.features = []
        index = 0
        for width in CONFIGS[depth]:
            if width == "M":
                self.features.append(keras.layers.MaxPooling2D(2, name=f"features_{index}"))
                index += 1
                continue
            self.features.append(TorchConv2D(width, 3, 1, padding=1, use_bias=True, name=f"features_{index}"))
            index += 1
            if batch_norm:
                self.features.append(layers.batch_norm(f"features_{index}"))
                index += 1
            self.features.append(keras.layers.ReLU(name=f"features_{index}"))
            index += 1
        self.flatten = keras.layers.Flatten()

        def dense(units, name):
            return keras.layers.Dense(units, name=name, kernel_initializer=torch_default_kernel(),
                                      bias_initializer=torch_default_bias(512))

        self.classifier = [
            keras.layers.Dropout(dropout, name="classifier_0"), dense(512, "classifier_1"),
            keras.layers.ReLU(name="classifier_2"), keras.layers.Dropout(dropout, name="classifier_3"),
            dense(512, "classifier_4"), keras.layers.ReLU(name="classifier_5"),
            dense(num_classes, "classifier_6"),
        ]

    def call(self, x, training=False):
        for layer in self.features:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
        x = self.flatten(x)
        for layer in self.classifier:
            x = layer(x, training=training) if isinstance(layer, keras.layers.Dropout) else layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "num_classes": self.num_classes,
                "batch_norm": self.batch_norm, "dropout": self.dropout}
