"""Student initialisation for the optimisation experiments (paper section 6):
random (the default), interpolated between the teacher and a random draw, or
the teacher's own initial weights."""


import keras
import numpy as np
import tensorflow as tf

from kd_tf.data.pipeline import evaluation_dataset
from kd_tf.errors import UserError

INIT_MODES = ("random", "interpolate", "teacher_init")


def _check_same_architecture(student, teacher, what):
    shapes = lambda m: [tuple(w.shape) for w in m.weights]  # noqa: E731
    if type(student) is not type(teacher) or shapes(student) != shapes(teacher):
        raise UserError(f"--init={what} needs the student's architecture to equal the teacher's "
                        f"({teacher.name}); the student is {student.name}.")


def reestimate_batch_norm(model, split, properties, batch_size=500, strategy=None):
    """Recomputes every BatchNorm's moving statistics as the average over one
    pass of clean training data, each batch weighted by its size (as SWA's
    bn_update does), so that the moving mean is the mean over examples.

    With momentum 0, each compiled training-mode call leaves its batch's
    statistics in the moving variables, which are read and averaged here.
    With a strategy whose BatchNorm is synchronised, every batch that splits
    evenly is computed across the replicas (its global statistics, as one
    device would find them); the rest runs on one device."""
    layers = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
              if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    distributed = replicas > 1 and all(layer.synchronized for layer in layers)
    local = tf.function(lambda x: model(x, training=True), reduce_retracing=True)
    spread = tf.function(lambda x: strategy.run(lambda shard: model(shard, training=True), args=(x,))) \
        if distributed else None
    sums = [[np.zeros(layer.moving_mean.shape), np.zeros(layer.moving_variance.shape)] for layer in layers]
    seen = batches = 0
    for batch in evaluation_dataset(split, batch_size, properties):
        size = int(batch["image"].shape[0])
        if distributed and size % replicas == 0:
            spread(strategy.experimental_distribute_values_from_function(
                lambda context, x=batch["image"]: tf.split(x, replicas)[context.replica_id_in_sync_group]))
        else:
            local(batch["image"])
        for total, layer in zip(sums, layers):
            total[0] += size * np.asarray(layer.moving_mean, np.float64)
            total[1] += size * np.asarray(layer.moving_variance, np.float64)
        seen, batches = seen + size, batches + 1
    for (mean, variance), layer, momentum in zip(sums, layers, momenta):
        layer.moving_mean.assign((mean / seen).astype(np.float32))
        layer.moving_variance.assign((variance / seen).astype(np.float32))
        layer.momentum = momentum
    return batches


def initialise(student, mode, teacher, teacher_init_weights=None, init_lambda=None, train_split=None,
               properties=None, strategy=None):
    """Applies --init to a freshly built (random) student; returns a short description."""
    if mode == "random":
        return "random"
    _check_same_architecture(student, teacher, mode)
    if mode == "interpolate":
        if init_lambda is None or not 0.0 <= init_lambda <= 1.0:
            raise UserError("--init=interpolate needs --init_lambda in [0, 1].")
        for s, t in zip(student.weights, teacher.weights):
            s.assign(init_lambda * t + (1.0 - init_lambda) * s)
        batches = reestimate_batch_norm(student, train_split, properties, strategy=strategy)
        return f"interpolate lambda={init_lambda} (BN statistics re-estimated over {batches} batches)"
    if mode == "teacher_init":
        if not teacher_init_weights or not tf.io.gfile.exists(teacher_init_weights):
            raise UserError("--init=teacher_init needs the teacher's saved initial weights "
                            f"({teacher_init_weights or 'none recorded'}); imported teachers have none.")
        student.load_weights(teacher_init_weights)
        return f"teacher_init from {teacher_init_weights}"
    raise UserError(f"--init={mode!r}: choose one of {', '.join(INIT_MODES)}.")
