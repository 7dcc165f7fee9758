"""SGD with PyTorch's semantics, which the reference's numbers depend on.

PyTorch: g <- g + wd * w (coupled weight decay, on every parameter);
         buf <- momentum * buf + g;
         step = g + momentum * buf (Nesterov) or buf;  w <- w - lr * step.
Keras's SGD folds the learning rate into the velocity (a different update when
the lr changes), and its weight_decay is decoupled; neither matches.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kd_tf")
class TorchSGD(keras.optimizers.Optimizer):
    def __init__(self, learning_rate=0.1, momentum=0.9, nesterov=False, coupled_weight_decay=0.0,
                 name="torch_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}.")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum requires momentum > 0.")
        self.momentum = momentum
        self.nesterov = nesterov
        self.coupled_weight_decay = coupled_weight_decay

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentum_buffers = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.coupled_weight_decay:
            g = g + self.coupled_weight_decay * variable
        if self.momentum:
            buf = self.momentum_buffers[self._get_variable_index(variable)]
            self.assign(buf, self.momentum * buf + g)
            g = g + self.momentum * buf if self.nesterov else buf
        self.assign_sub(variable, lr * g)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "coupled_weight_decay": self.coupled_weight_decay}
