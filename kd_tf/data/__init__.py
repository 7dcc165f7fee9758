"""Datasets, normalisation, distillation policies and tf.data pipelines."""
