"""Runs an experiments job as its binary does, but saves the weights it
trains after the given optimizer steps and ends the process after the last:
what tests/step_equality_test.py compares between one process, each worker of
a cluster and 2 mirrored replicas.

  python -m tests.weights_at_steps JOB OUT_PREFIX STEPS LOGICAL_CPUS -- <the job's flags>

STEPS is a comma-separated list; OUT_PREFIX-<step>.npz holds the weights as
<network>_<index> (OUT_PREFIX-0.npz: before the first step). LOGICAL_CPUS > 1
splits the CPU before TensorFlow starts, for --strategy=mirrored."""

import importlib
import os
import sys

import numpy as np


def _trained(model):
    """The trained networks' weights by network (a Distiller's teachers are frozen)."""
    if hasattr(model, "student"):
        return {"student": model.student.weights}
    if hasattr(model, "generator"):
        return {"generator": model.generator.weights, "discriminator": model.discriminator.weights}
    return {"model": model.weights}


def _save(path, model):
    np.savez(path, **{f"{network}_{i:03d}": np.asarray(v) for network, weights in _trained(model).items()
                      for i, v in enumerate(weights)})


def _step(model):
    """Optimizer steps so far: a GAN step is one generator step."""
    optimizer = getattr(model, "g_optimizer", None) or model.optimizer
    return int(optimizer.iterations.numpy())


def main():
    job, prefix, steps, cpus = sys.argv[1:5]
    if sys.argv[5] != "--":
        raise SystemExit("usage: weights_at_steps JOB OUT_PREFIX STEPS LOGICAL_CPUS -- <job flags>")
    sys.argv = [job, *sys.argv[6:]]
    steps = sorted(int(s) for s in steps.split(","))
    import tensorflow as tf

    if int(cpus) > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(cpus))
    import keras

    class SaveWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if _step(self.model) == 0:
                _save(f"{prefix}-0.npz", self.model)

        def on_train_batch_end(self, batch, logs=None):
            step = _step(self.model)
            if step in steps:
                _save(f"{prefix}-{step}.npz", self.model)
            if step >= steps[-1]:
                sys.stdout.flush()
                os._exit(0)  # the job's remaining work (evaluation, export) is not compared

    fit = keras.Model.fit

    def fit_saving_weights(self, *args, callbacks=None, **kwargs):
        return fit(self, *args, callbacks=[SaveWeights(), *(callbacks or [])], **kwargs)

    keras.Model.fit = fit_saving_weights
    from kd_tf import cli

    module = importlib.import_module(f"experiments.{job}")
    cli.run(module.main)


if __name__ == "__main__":
    main()
