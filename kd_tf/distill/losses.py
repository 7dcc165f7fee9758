"""Distillation losses (REFERENCE.md section 1), per example.

Losses return one value per row; the Distiller owns the batch reduction,
because the right denominator depends on the number of replicas.
"""

from keras import ops


def _per_row(temperature, batch_like):
    """Broadcasts a scalar or per-row temperature to shape [batch, 1]."""
    temperature = ops.cast(temperature, "float32")
    ones = ops.ones_like(batch_like[:, :1])
    return ops.reshape(temperature, (-1, 1)) * ones if ops.ndim(temperature) > 0 else temperature * ones


def kd_cross_entropy(teacher_logits, student_logits, temperature):
    """L_KD = -tau^2 sum_c softmax(z_t/tau)_c log_softmax(z_s/tau)_c, per row.

    At tau = 1 this is KL(p_t || p_s) plus the teacher's entropy, so its
    gradient equals the gradient of the KL."""
    teacher_logits = ops.cast(teacher_logits, "float32")
    student_logits = ops.cast(student_logits, "float32")
    tau = _per_row(temperature, teacher_logits)
    teacher_probs = ops.softmax(teacher_logits / tau, axis=-1)
    student_log_probs = ops.log_softmax(student_logits / tau, axis=-1)
    return -ops.square(tau[:, 0]) * ops.sum(teacher_probs * student_log_probs, axis=-1)


def label_cross_entropy(labels, logits):
    """Per-row cross-entropy with true labels, and a mask of rows that have one
    (label >= 0); masked rows contribute 0."""
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    mask = ops.cast(labels >= 0, "float32")
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    nll = -ops.take_along_axis(log_probs, ops.maximum(labels, 0)[:, None], axis=-1)[:, 0]
    return nll * mask, mask
