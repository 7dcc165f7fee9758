"""Distillation losses (REFERENCE.md section 1), per example.

Losses return one value per row; the Distiller owns the batch reduction,
because the right denominator depends on the number of replicas.
"""

import keras
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


# --- The reference's other teacher-student losses, per example ---------------
# Each takes (teacher_logits, student_logits, temperature) and returns one value
# per row; `temperature` is a scalar or per-row.

def _tempered(logits, temperature):
    logits = ops.cast(logits, "float32")
    return logits / _per_row(temperature, logits)


def _kl(log_p, log_q):
    return ops.sum(ops.exp(log_p) * (log_p - log_q), axis=-1)


def reverse_cross_entropy(teacher_logits, student_logits, temperature):
    """-tau^2 sum_c softmax(z_s/tau)_c log_softmax(z_t/tau)_c."""
    tau = _per_row(temperature, ops.cast(teacher_logits, "float32"))[:, 0]
    s = ops.softmax(_tempered(student_logits, temperature), axis=-1)
    return -ops.square(tau) * ops.sum(s * ops.log_softmax(_tempered(teacher_logits, temperature), axis=-1), axis=-1)


def kl_teacher_student(teacher_logits, student_logits, temperature):
    """KL(p_t || p_s) of the tempered distributions, without the tau^2 factor."""
    return _kl(ops.log_softmax(_tempered(teacher_logits, temperature), axis=-1),
               ops.log_softmax(_tempered(student_logits, temperature), axis=-1))


def symmetric_kl(teacher_logits, student_logits, temperature):
    """(KL(p_t || p_s) + KL(p_s || p_t)) / 2 of the tempered distributions."""
    log_t = ops.log_softmax(_tempered(teacher_logits, temperature), axis=-1)
    log_s = ops.log_softmax(_tempered(student_logits, temperature), axis=-1)
    return 0.5 * (_kl(log_t, log_s) + _kl(log_s, log_t))


def member_averaged_symmetric_kl(member_logits, student_logits, temperature):
    """symmetric_kl between the student and each member, averaged over members
    (member_logits: [m, batch, classes])."""
    return ops.mean(ops.stack([symmetric_kl(member_logits[i], student_logits, temperature)
                               for i in range(member_logits.shape[0])]), axis=0)


def brier(teacher_logits, student_logits, temperature):
    """Mean over classes of (softmax(z_t/tau) - softmax(z_s/tau))^2."""
    return ops.mean(ops.square(ops.softmax(_tempered(teacher_logits, temperature), axis=-1)
                               - ops.softmax(_tempered(student_logits, temperature), axis=-1)), axis=-1)


def hard_labels(teacher_logits, key, sample=False, corruption=0.0):
    """Teacher labels: argmax, or a draw from softmax(teacher); with probability
    `corruption` replaced by a uniformly random class. key: a keras seed."""
    classes = ops.shape(teacher_logits)[-1]
    if sample:
        labels = ops.squeeze(keras.random.categorical(ops.cast(teacher_logits, "float32"), 1, seed=key), -1)
    else:
        labels = ops.argmax(teacher_logits, axis=-1)
    labels = ops.cast(labels, "int32")
    if corruption > 0.0:
        rows = ops.shape(teacher_logits)[0]
        flip = keras.random.uniform((rows,), seed=key) < corruption
        random = ops.cast(keras.random.randint((rows,), 0, classes, seed=key), "int32")
        labels = ops.where(flip, random, labels)
    return labels


def hard_label_cross_entropy(labels, student_logits):
    log_q = ops.log_softmax(ops.cast(student_logits, "float32"), axis=-1)
    return -ops.take_along_axis(log_q, labels[:, None], axis=-1)[:, 0]


def annealed_weight(epoch, epochs):
    """cvx: the weight of the soft (fwd_ce) term, rising linearly from 0 at the
    first epoch to 1 at the last; the hard term has the rest."""
    return ops.clip(ops.cast(epoch, "float32") / max(epochs - 1, 1), 0.0, 1.0)


SOFT_LOSSES = {
    "fwd_ce": kd_cross_entropy,
    "rev_ce": reverse_cross_entropy,
    "kl": kl_teacher_student,
    "sym_kl": symmetric_kl,
    "brier": brier,
}
LOSSES = (*SOFT_LOSSES, "avg_sym_kl", "hard", "cvx")
