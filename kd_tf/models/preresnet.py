"""Pre-activation ResNets for 32x32 inputs (REFERENCE.md section 3), with the
reference's module names: conv1, layer{1,2,3}[j].{bn,conv}{1,2,3},
layer{s}[0].downsample, bn, fc.

Depth d < 44: basic blocks, n = (d - 2) / 6 per stage; d >= 44: bottleneck
blocks (4x expansion), n = (d - 2) / 9. Variants: `skip=False` (depth < 44;
conv-BN-ReLU twice, no residual) and `norm="layer"` (LayerNorm in place of
every BatchNorm, paper section 6.2).
"""

import keras

from kd_tf.models.layers import TorchConv2D, norm, torch_default_bias, torch_default_kernel


def blocks_per_stage(depth):
    if depth < 44:
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"PreResNet depth {depth} < 44 must be 6n+2 (e.g. 20, 32).")
        return "basic", (depth - 2) // 6
    if (depth - 2) % 9:
        raise ValueError(f"PreResNet depth {depth} >= 44 must be 9n+2 (e.g. 56, 110).")
    return "bottleneck", (depth - 2) // 9


@keras.saving.register_keras_serializable(package="kd_tf")
class BasicBlock(keras.layers.Layer):
    expansion = 1

    def __init__(self, planes, stride=1, downsample=False, norm_kind="batch", skip=True, **kwargs):
        super().__init__(**kwargs)
        self.planes, self.stride, self.has_downsample = planes, stride, downsample
        self.norm_kind, self.skip = norm_kind, skip
        self.bn1 = norm(norm_kind, "bn1")
        self.conv1 = TorchConv2D(planes, 3, stride, padding=1, name="conv1")
        self.bn2 = norm(norm_kind, "bn2")
        self.conv2 = TorchConv2D(planes, 3, 1, padding=1, name="conv2")
        self.downsample = TorchConv2D(planes, 1, stride, name="downsample") if downsample and skip else None

    def call(self, x, training=False):
        if not self.skip:  # post-activation, no residual: conv-BN-ReLU twice
            out = keras.ops.relu(self.bn1(self.conv1(x), training=training))
            return keras.ops.relu(self.bn2(self.conv2(out), training=training))
        out = self.conv1(keras.ops.relu(self.bn1(x, training=training)))
        out = self.conv2(keras.ops.relu(self.bn2(out, training=training)))
        residual = self.downsample(x) if self.downsample is not None else x
        return out + residual

    def get_config(self):
        return {**super().get_config(), "planes": self.planes, "stride": self.stride,
                "downsample": self.has_downsample, "norm_kind": self.norm_kind, "skip": self.skip}


@keras.saving.register_keras_serializable(package="kd_tf")
class Bottleneck(keras.layers.Layer):
    expansion = 4

    def __init__(self, planes, stride=1, downsample=False, norm_kind="batch", **kwargs):
        super().__init__(**kwargs)
        self.planes, self.stride, self.has_downsample, self.norm_kind = planes, stride, downsample, norm_kind
        self.bn1 = norm(norm_kind, "bn1")
        self.conv1 = TorchConv2D(planes, 1, name="conv1")
        self.bn2 = norm(norm_kind, "bn2")
        self.conv2 = TorchConv2D(planes, 3, stride, padding=1, name="conv2")
        self.bn3 = norm(norm_kind, "bn3")
        self.conv3 = TorchConv2D(planes * 4, 1, name="conv3")
        self.downsample = TorchConv2D(planes * 4, 1, stride, name="downsample") if downsample else None

    def call(self, x, training=False):
        out = self.conv1(keras.ops.relu(self.bn1(x, training=training)))
        out = self.conv2(keras.ops.relu(self.bn2(out, training=training)))
        out = self.conv3(keras.ops.relu(self.bn3(out, training=training)))
        residual = self.downsample(x) if self.downsample is not None else x
        return out + residual

    def get_config(self):
        return {**super().get_config(), "planes": self.planes, "stride": self.stride,
                "downsample": self.has_downsample, "norm_kind": self.norm_kind}


@keras.saving.register_keras_serializable(package="kd_tf")
class PreResNet(keras.Model):
    def __init__(self, depth=20, num_classes=10, skip=True, norm_kind="batch", **kwargs):
        super().__init__(**kwargs)
        self.depth, self.num_classes, self.skip, self.norm_kind = depth, num_classes, skip, norm_kind
        kind, n = blocks_per_stage(depth)
        if not skip and kind != "basic":
            raise ValueError("The no-skip PreResNet variant exists for depth < 44 only.")
        block = BasicBlock if kind == "basic" else Bottleneck
        self.conv1 = TorchConv2D(16, 3, 1, padding=1, name="conv1")
        inplanes = 16
        self.stages = []
        for s, (planes, stride) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            stage = []
            for j in range(n):
                extra = {"skip": skip} if block is BasicBlock else {}
                down = j == 0 and (stride != 1 or inplanes != planes * block.expansion)
                stage.append(block(planes, stride if j == 0 else 1, down, norm_kind, name=f"layer{s}_{j}", **extra))
                inplanes = planes * block.expansion
            self.stages.append(stage)
        self.layer1, self.layer2, self.layer3 = self.stages
        self.bn = norm(norm_kind, "bn")
        self.pool = keras.layers.GlobalAveragePooling2D(name="avgpool")
        self.fc = keras.layers.Dense(num_classes, name="fc", kernel_initializer=torch_default_kernel(),
                                     bias_initializer=torch_default_bias(inplanes))

    def call(self, x, training=False):
        x = self.conv1(x)
        for stage in self.stages:
            for block in stage:
                x = block(x, training=training)
        x = keras.ops.relu(self.bn(x, training=training))
        return self.fc(self.pool(x))

    def stage_outputs(self, x):
        """The outputs of stages 1, 2 and 3 (eval mode): what the reference's
        preacts() returns and its CKA compares."""
        x = self.conv1(x)
        outputs = []
        for stage in self.stages:
            for block in stage:
                x = block(x, training=False)
            outputs.append(x)
        return outputs

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "num_classes": self.num_classes,
                "skip": self.skip, "norm_kind": self.norm_kind}
