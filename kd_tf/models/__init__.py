"""Architectures of the study, as Keras subclassed models, and a registry by name."""

from kd_tf.models.registry import ARCHITECTURES, build_model, spec  # noqa: F401
