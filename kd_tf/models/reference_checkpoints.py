"""Reference (PyTorch) state dicts <-> kd_tf models.

Each supported architecture maps the reference's state-dict keys to Keras
variables, with the layout conversion in both directions:
  conv kernels (out, in, kh, kw) <-> (kh, kw, in, out);
  dense kernels (out, in) <-> (in, out);
  LeNet-5's first dense kernel: PyTorch flattens (C, H, W), Keras (H, W, C);
  BatchNorm weight/bias/running_mean/running_var <-> gamma/beta/moving stats.
Loading validates every key and shape before it assigns anything.
"""

import dataclasses

import numpy as np

from kd_tf.errors import UserError
from kd_tf.models.lenet import LeNet5
from kd_tf.models.preresnet import PreResNet
from kd_tf.models.vgg import VGG

IGNORED_SUFFIXES = ("num_batches_tracked",)


class CheckpointError(UserError):
    pass


@dataclasses.dataclass(frozen=True)
class Entry:
    variable: object  # a Keras variable
    to_keras: object  # reference array -> Keras array
    to_reference: object  # Keras array -> reference array


def _identity(a):
    return a


def _conv_to_keras(a):
    return np.transpose(a, (2, 3, 1, 0))


def _conv_to_reference(a):
    return np.transpose(a, (3, 2, 0, 1))


def _dense(a):
    return np.transpose(a)


def _flatten_permuted_dense(channels, height, width):
    """The dense layer after a flatten: PyTorch's input index is c*H*W + h*W + w,
    Keras's is h*W*C + w*C + c."""

    def to_keras(a):
        out = a.shape[0]
        return a.reshape(out, channels, height, width).transpose(0, 2, 3, 1).reshape(out, -1).T

    def to_reference(a):
        out = a.shape[1]
        return a.T.reshape(out, height, width, channels).transpose(0, 3, 1, 2).reshape(out, -1)

    return to_keras, to_reference


def _conv(mapping, prefix, layer):
    mapping[f"{prefix}.weight"] = Entry(layer.kernel, _conv_to_keras, _conv_to_reference)
    if layer.bias is not None:
        mapping[f"{prefix}.bias"] = Entry(layer.bias, _identity, _identity)


def _dense_layer(mapping, prefix, layer, kernel_conversion=(_dense, _dense)):
    mapping[f"{prefix}.weight"] = Entry(layer.kernel, *kernel_conversion)
    mapping[f"{prefix}.bias"] = Entry(layer.bias, _identity, _identity)


def _norm(mapping, prefix, layer):
    mapping[f"{prefix}.weight"] = Entry(layer.gamma, _identity, _identity)
    mapping[f"{prefix}.bias"] = Entry(layer.beta, _identity, _identity)
    if hasattr(layer, "moving_mean"):  # BatchNorm; the LayerNorm variant has no statistics
        mapping[f"{prefix}.running_mean"] = Entry(layer.moving_mean, _identity, _identity)
        mapping[f"{prefix}.running_var"] = Entry(layer.moving_variance, _identity, _identity)


def reference_mapping(model):
    """reference key -> Entry, for a built model."""
    mapping = {}
    if isinstance(model, LeNet5):
        _conv(mapping, "0", model.conv1)
        _conv(mapping, "3", model.conv2)
        _dense_layer(mapping, "7", model.fc1, _flatten_permuted_dense(16, 5, 5))
        _dense_layer(mapping, "9", model.fc2)
        _dense_layer(mapping, "11", model.fc3)
    elif isinstance(model, PreResNet):
        _conv(mapping, "conv1", model.conv1)
        for s, stage in enumerate(model.stages, start=1):
            for j, block in enumerate(stage):
                prefix = f"layer{s}.{j}"
                for k in (1, 2, 3):
                    if hasattr(block, f"conv{k}"):
                        _conv(mapping, f"{prefix}.conv{k}", getattr(block, f"conv{k}"))
                        _norm(mapping, f"{prefix}.bn{k}", getattr(block, f"bn{k}"))
                if block.downsample is not None:
                    _conv(mapping, f"{prefix}.downsample.0", block.downsample)
        _norm(mapping, "bn", model.bn)
        _dense_layer(mapping, "fc", model.fc)
    elif isinstance(model, VGG):
        for layer in model.features:
            index = layer.name.split("_")[-1]
            if hasattr(layer, "kernel"):
                _conv(mapping, f"features.{index}", layer)
            elif hasattr(layer, "moving_mean"):
                _norm(mapping, f"features.{index}", layer)
        for layer in model.classifier:
            if hasattr(layer, "kernel"):
                _dense_layer(mapping, f"classifier.{layer.name.split('_')[-1]}", layer)
    else:
        raise CheckpointError(
            f"No reference checkpoint mapping for {type(model).__name__}; "
            "supported: PreResNet (all depths), VGG, LeNet-5."
        )
    return mapping


def reference_shapes(model):
    """reference key -> the shape the reference stores it in."""
    return {key: tuple(e.to_reference(np.zeros(tuple(e.variable.shape))).shape)
            for key, e in reference_mapping(model).items()}


def normalise_state_dict(state):
    """Unwraps {"state_dict": ...} and DataParallel's "module." prefixes; drops
    BatchNorm's num_batches_tracked counters."""
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    out = {}
    for key, value in state.items():
        if key.endswith(IGNORED_SUFFIXES):
            continue
        out[key[len("module."):] if key.startswith("module.") else key] = np.asarray(value)
    return out


def load_state_dict(model, state):
    """Assigns a reference state dict to a built model; on any problem raises
    CheckpointError naming the keys, and leaves the model untouched."""
    mapping = reference_mapping(model)
    state = normalise_state_dict(state)
    problems = []
    unknown = sorted(set(state) - set(mapping))
    missing = sorted(set(mapping) - set(state))
    if unknown:
        problems.append(f"unknown keys {unknown}")
    if missing:
        problems.append(f"missing keys {missing}")
    converted = {}
    for key in sorted(set(mapping) & set(state)):
        entry, value = mapping[key], state[key]
        expected = tuple(entry.to_reference(np.zeros(tuple(entry.variable.shape))).shape)
        if tuple(value.shape) != expected:
            problems.append(f"{key}: expected shape {expected}, found {tuple(value.shape)}")
            continue
        converted[key] = entry.to_keras(value.astype(np.float32))
    if problems:
        raise CheckpointError(f"The state dict does not fit {model.name}: " + "; ".join(problems))
    for key, value in converted.items():
        mapping[key].variable.assign(value)


def state_dict(model):
    """The model's weights as a reference-layout state dict of numpy arrays."""
    return {key: e.to_reference(np.asarray(e.variable)) for key, e in reference_mapping(model).items()}
