"""--precision and --teacher_precision: Keras dtype policies for the models
built under them, and loss scaling for fp16.

Variables stay float32 under the mixed policies; BatchNorm normalises in
float32 (Keras casts its inputs up); kd_tf's losses and metrics cast logits
to float32, so only the networks' arithmetic changes.
"""

import contextlib

import keras

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@contextlib.contextmanager
def policy(precision):
    """Layers created (or loaded) inside compute in `precision`."""
    if precision not in POLICIES:
        raise ValueError(f"Unknown precision {precision!r}; choose one of {list(POLICIES)}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def compute_dtype(precision):
    """The dtype a precision computes in, or None for float32 (nothing to cast)."""
    return {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}[precision]


def with_loss_scaling(optimizer, precision):
    """fp16 gradients underflow without loss scaling: a dynamic
    LossScaleOptimizer, which the Distiller's train step scales the loss for
    (optimizer.scale_loss) and which skips steps whose gradients overflow."""
    if precision == "fp16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
