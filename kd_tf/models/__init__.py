"""Architectures of the study, as Keras subclassed models, and a registry by
name (kd_tf.models.registry; `build_model` is also available here)."""


def __getattr__(name):
    # Lazy, so that importing one architecture module does not import them all.
    if name in ("ARCHITECTURES", "build_model", "spec"):
        from kd_tf.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'kd_tf.models' has no attribute {name!r}")
