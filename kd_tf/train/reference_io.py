"""Reading and writing reference checkpoints on disk (the mapping itself is
kd_tf.models.reference_checkpoints)."""

import os
import pickle
import tempfile

import keras
import numpy as np

from kd_tf.errors import UserError
from kd_tf.models import reference_checkpoints as rc
from kd_tf.models.registry import build_model, spec
from kd_tf.train import teacher_store


def read_state_dict(path):
    """A state dict from .npz, a torch.save file (needs torch), or a pickle."""
    if not os.path.exists(path):
        raise UserError(f"--state_dict={path} does not exist.")
    if path.endswith(".npz"):
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            return {k: v.numpy() if hasattr(v, "numpy") else v for k, v in _unwrap(state).items()}
        except Exception as e:  # not a torch file: try a plain pickle below
            torch_error = e
    else:
        torch_error = None
    try:
        with open(path, "rb") as f:
            return _unwrap(pickle.load(f))
    except Exception as e:
        hint = (f"torch could not read it either ({torch_error})" if torch is not None else
                "torch.save files need torch (`pip install torch==2.13.0` gives a CPU build), "
                "or convert the checkpoint to .npz")
        raise UserError(f"Cannot read --state_dict={path}: {e}; {hint}.") from e


def _unwrap(state):
    if not isinstance(state, dict):
        raise UserError(f"Expected a state dict (a mapping of names to arrays), got {type(state).__name__}.")
    return state


def import_checkpoint(arch, num_classes, path, input_size=None):
    shape = spec(arch).input_shape
    if callable(shape):
        raise UserError(f"{arch} has no reference checkpoint mapping.")
    if input_size:
        shape = (input_size, input_size, shape[-1])
    model = build_model(arch, num_classes, shape)
    rc.load_state_dict(model, read_state_dict(path))
    return model


def _write_atomically(path, write):
    """write(tmp_path) into a temporary file beside `path`, then renames: a
    failed write leaves nothing behind."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path)[1], dir=directory)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_atomically(model, path):
    _write_atomically(path, model.save)


def add_imported_member(teacher_dir, model, arch, dataset, source):
    return teacher_store.add_imported_member(teacher_dir, model, arch, dataset, source, save_atomically)


def export_npz(model_path, output):
    if not os.path.exists(model_path):
        raise UserError(f"--model={model_path} does not exist.")
    model = keras.saving.load_model(model_path, compile=False)
    state = rc.state_dict(model)
    _write_atomically(output, lambda tmp: np.savez(tmp, **state))
    return sorted(state)
