"""kd_tf: a TensorFlow/Keras port of "Does Knowledge Distillation Really Work?".

Importing this package is cheap (no TensorFlow): binaries can validate flags
before paying for the TensorFlow import.
"""
