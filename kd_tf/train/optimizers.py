"""SGD with PyTorch's semantics, which the reference's numbers depend on.

PyTorch: g <- g + wd * w (coupled weight decay, on every parameter);
         buf <- momentum * buf + g;
         step = g + momentum * buf (Nesterov) or buf;  w <- w - lr * step.
Keras's SGD folds the learning rate into the velocity (a different update when
the lr changes), and its weight_decay is decoupled; neither matches.
"""

import keras
from keras import ops

from kd_tf.train.schedules import EpochCosineDecay


class _CoupledDecay(keras.optimizers.Optimizer):
    """PyTorch's weight decay: wd * w added to the gradient of every parameter."""

    def __init__(self, learning_rate, coupled_weight_decay=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.coupled_weight_decay = coupled_weight_decay

    def _decayed_gradient(self, gradient, variable):
        g = ops.cast(gradient, variable.dtype)
        return g + self.coupled_weight_decay * variable if self.coupled_weight_decay else g

    def get_config(self):
        return {**super().get_config(), "coupled_weight_decay": self.coupled_weight_decay}


@keras.saving.register_keras_serializable(package="kd_tf")
class TorchSGD(_CoupledDecay):
    def __init__(self, learning_rate=0.1, momentum=0.9, nesterov=False, coupled_weight_decay=0.0,
                 name="torch_sgd", **kwargs):
        super().__init__(learning_rate, coupled_weight_decay, name=name, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}.")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum requires momentum > 0.")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentum_buffers = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = self._decayed_gradient(gradient, variable)
        if self.momentum:
            buf = self.momentum_buffers[self._get_variable_index(variable)]
            self.assign(buf, self.momentum * buf + g)
            g = g + self.momentum * buf if self.nesterov else buf
        self.assign_sub(variable, lr * g)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@keras.saving.register_keras_serializable(package="kd_tf")
class TorchAdam(_CoupledDecay):
    """Adam with PyTorch's semantics: weight decay coupled (wd * w added to the
    gradient), epsilon added to the bias-corrected sqrt(v_hat). Keras's Adam
    adds epsilon to the uncorrected sqrt(v) instead."""

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, coupled_weight_decay=0.0,
                 name="torch_adam", **kwargs):
        super().__init__(learning_rate, coupled_weight_decay, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.first_moments = self.add_optimizer_variables(variables, "m")
        self.second_moments = self.add_optimizer_variables(variables, "v")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = self._decayed_gradient(gradient, variable)
        index = self._get_variable_index(variable)
        m, v = self.first_moments[index], self.second_moments[index]
        t = ops.cast(self.iterations + 1, variable.dtype)
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(g))
        m_hat = m / (1.0 - ops.power(self.beta_1, t))
        v_hat = v / (1.0 - ops.power(self.beta_2, t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


def make_optimizer(recipe, steps_per_epoch, kind="sgd"):
    """The recipe's optimizer with PyTorch semantics and its per-epoch
    schedule: (optimizer, schedule)."""
    schedule = EpochCosineDecay(recipe.lr, recipe.final_lr, recipe.epochs, steps_per_epoch, recipe.warmup_epochs)
    if kind == "adam":
        return TorchAdam(schedule, coupled_weight_decay=recipe.weight_decay), schedule
    optimizer = TorchSGD(schedule, momentum=recipe.momentum, nesterov=recipe.nesterov,
                         coupled_weight_decay=recipe.weight_decay)
    return optimizer, schedule
