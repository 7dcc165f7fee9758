"""Learning-rate schedules stepped per epoch, as the reference steps
PyTorch's CosineAnnealingLR once per epoch."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kd_tf")
class EpochCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(epoch e) = final + (initial - final) * (1 + cos(pi * e / epochs)) / 2,
    constant within an epoch. With warmup_epochs = w, epochs e < w use
    initial * (e + 1) / w instead (a linear ramp; the cosine then spans the
    remaining epochs)."""

    def __init__(self, initial, final, epochs, steps_per_epoch, warmup_epochs=0):
        self.initial = float(initial)
        self.final = float(final)
        self.epochs = int(epochs)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_epochs = int(warmup_epochs)

    def epoch_value(self, epoch):
        if epoch < self.warmup_epochs:
            return self.initial * (epoch + 1) / self.warmup_epochs
        progress = (epoch - self.warmup_epochs) / (self.epochs - self.warmup_epochs)
        return self.final + (self.initial - self.final) * (1 + math.cos(math.pi * progress)) / 2

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / self.steps_per_epoch)
        w = float(self.warmup_epochs)
        progress = ops.maximum(epoch - w, 0.0) / (self.epochs - w)
        cosine = self.final + (self.initial - self.final) * (1.0 + ops.cos(math.pi * progress)) / 2.0
        if not self.warmup_epochs:
            return cosine
        return ops.where(epoch < w, self.initial * (epoch + 1.0) / w, cosine)

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "epochs": self.epochs,
                "steps_per_epoch": self.steps_per_epoch, "warmup_epochs": self.warmup_epochs}


@keras.saving.register_keras_serializable(package="kd_tf")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """initial -> final linearly over total_steps, then final (SN-GAN's schedule)."""

    def __init__(self, initial, final, total_steps):
        self.initial, self.final, self.total_steps = float(initial), float(final), int(total_steps)

    def __call__(self, step):
        progress = ops.minimum(ops.cast(step, "float32") / self.total_steps, 1.0)
        return self.initial + (self.final - self.initial) * progress

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "total_steps": self.total_steps}
