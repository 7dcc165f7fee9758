"""Learning-rate schedules stepped per epoch, as the reference steps
PyTorch's CosineAnnealingLR once per epoch."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kd_tf")
class EpochCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(epoch e) = final + (initial - final) * (1 + cos(pi * e / epochs)) / 2,
    constant within an epoch."""

    def __init__(self, initial, final, epochs, steps_per_epoch):
        self.initial = float(initial)
        self.final = float(final)
        self.epochs = int(epochs)
        self.steps_per_epoch = int(steps_per_epoch)

    def epoch_value(self, epoch):
        return self.final + (self.initial - self.final) * (1 + math.cos(math.pi * epoch / self.epochs)) / 2

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / self.steps_per_epoch)
        cosine = (1.0 + ops.cos(math.pi * epoch / self.epochs)) / 2.0
        return self.final + (self.initial - self.final) * cosine

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "epochs": self.epochs,
                "steps_per_epoch": self.steps_per_epoch}
