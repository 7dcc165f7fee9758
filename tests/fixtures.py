"""Small models and batches shared by the Distiller and strategy tests."""

import keras
import numpy as np

from kd_tf.distill.distiller import Distiller
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.models.registry import build_model


def lenet_distiller(num_teachers=2, temperature=4.0, alpha=0.0, seed=0, **kwargs):
    members = []
    for i in range(num_teachers):
        keras.utils.set_random_seed(100 + i)
        members.append(build_model("lenet5", 10))
    keras.utils.set_random_seed(seed)
    student = build_model("lenet5", 10)
    return Distiller(student, TeacherEnsemble(members), temperature=temperature, alpha=alpha, **kwargs)


def mnist_like_batch(batch_size=8, seed=0, unlabelled=0, temperature=4.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, batch_size).astype(np.int32)
    labels[:unlabelled] = -1
    return {
        "image": rng.uniform(-1, 1, (batch_size, 28, 28, 1)).astype(np.float32),
        "label": labels,
        "temperature": np.full(batch_size, temperature, np.float32),
    }
