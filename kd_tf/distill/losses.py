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
    """KL(p_t || p_s) + KL(p_s || p_t) of the tempered distributions: the
    reference's SymmetrizedKLLoss, with no 1/2 and no tau^2."""
    log_t = ops.log_softmax(_tempered(teacher_logits, temperature), axis=-1)
    log_s = ops.log_softmax(_tempered(student_logits, temperature), axis=-1)
    return _kl(log_t, log_s) + _kl(log_s, log_t)


def member_averaged_symmetric_kl(member_logits, student_logits, temperature):
    """symmetric_kl between the student and each member, averaged over members
    (member_logits: [m, batch, classes]); the reference's AveragedSymmetrizedKLLoss."""
    return ops.mean(ops.stack([symmetric_kl(member_logits[i], student_logits, temperature)
                               for i in range(member_logits.shape[0])]), axis=0)


def brier(teacher_logits, student_logits, temperature):
    """Mean over classes of (softmax(z_t/tau) - softmax(z_s/tau))^2."""
    return ops.mean(ops.square(ops.softmax(_tempered(teacher_logits, temperature), axis=-1)
                               - ops.softmax(_tempered(student_logits, temperature), axis=-1)), axis=-1)


def hard_labels(teacher_logits, seed, sample=False, corruption=0.0, temperature=1.0):
    """The reference's teacher labels: argmax z_t, or a draw from
    softmax(z_t / tau); then exactly int(rows * corruption) draws (with
    replacement) of a row and a uniformly random class, each draw overwriting
    its row (later draws win). seed: a keras SeedGenerator (checkpointed)."""
    teacher_logits = ops.cast(teacher_logits, "float32")
    rows, classes = teacher_logits.shape[0], teacher_logits.shape[-1]  # rows: None when not static
    if sample:
        tempered = teacher_logits / _per_row(temperature, teacher_logits)
        labels = ops.squeeze(keras.random.categorical(tempered, 1, seed=seed), -1)
    else:
        labels = ops.argmax(teacher_logits, axis=-1)
    labels = ops.cast(labels, "int32")
    if corruption <= 0.0:
        return labels
    if rows is not None:  # static (training batches): the reference's int(batch * ratio), exactly
        draws = int(rows * corruption)
        if draws == 0:
            return labels
    else:  # validation's last, partial batch
        rows = ops.shape(teacher_logits)[0]
        draws = ops.cast(ops.floor(ops.cast(rows, "float32") * corruption), "int32")
    where = keras.random.randint((draws,), 0, rows, seed=seed)
    new = ops.cast(keras.random.randint((draws,), 0, classes, seed=seed), "int32")
    hits = ops.cast(ops.equal(where[:, None], ops.arange(rows)[None, :]), "int32")
    last = ops.max(hits * ops.arange(1, draws + 1, dtype="int32")[:, None], axis=0, initial=0)
    # per row: 1 + the index of the last draw that hit it, or 0 (untouched)
    return ops.where(last > 0, ops.take(new, ops.maximum(last - 1, 0)), labels)


def hard_cross_entropy(labels, student_logits, temperature):
    """The reference's hard loss per row: -tau^2 log softmax(z_s / tau)[label]."""
    student_logits = ops.cast(student_logits, "float32")
    tau = _per_row(temperature, student_logits)[:, 0]
    log_q = ops.log_softmax(student_logits / tau[:, None], axis=-1)
    return -ops.square(tau) * ops.take_along_axis(log_q, labels[:, None], axis=-1)[:, 0]


def cvx_hard_weight(epoch, epochs, beta=1.0):
    """cvx: the weight of the hard term at (0-based) epoch e, as the reference
    anneals it after every epoch: max(beta - e * beta / epochs, 0); the soft
    (fwd_ce) term has the rest. The last epoch still has beta / epochs."""
    return ops.maximum(beta - ops.cast(epoch, "float32") * (beta / epochs), 0.0)


SOFT_LOSSES = {
    "fwd_ce": kd_cross_entropy,
    "rev_ce": reverse_cross_entropy,
    "kl": kl_teacher_student,
    "sym_kl": symmetric_kl,
    "brier": brier,
}
LOSSES = (*SOFT_LOSSES, "avg_sym_kl", "hard", "cvx")
