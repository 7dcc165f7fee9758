"""Teacher ensembles, distillation losses and the Distiller model;
`distillation_loss` gives the losses as keras.distillation losses."""


def __getattr__(name):
    # Lazy: kd_tf.distill.losses alone must not pull in keras.distillation.
    if name == "distillation_loss":
        from kd_tf.distill import keras_losses

        return keras_losses.distillation_loss
    raise AttributeError(f"module 'kd_tf.distill' has no attribute {name!r}")
