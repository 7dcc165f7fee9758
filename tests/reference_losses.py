"""The reference's distillation losses (gnosis/distillation/classification.py),
retyped in numpy from their definitions, so that kd_tf's losses are checked
against them without torch. `temp` is [batch, 1] as the reference's
DistillLoader makes it (or a scalar); every loss returns the batch value the
reference's loss class returns. tests/torch_reference_test.py checks these
against the same classes retyped in torch."""

import numpy as np

from tests import numpy_reference as ref


def _temp(temp, rows):
    return np.broadcast_to(np.asarray(temp, np.float64).reshape(-1, 1), (rows, 1))


def _kl(log_p, log_q):
    return np.sum(np.exp(log_p) * (log_p - log_q), -1)


def fwd_cross_ent(teacher_logits, student_logits, temp):
    """TeacherStudentFwdCrossEntLoss: -(temp^2 * p_t * log q_s).sum(-1).mean()."""
    temp = _temp(temp, len(student_logits))
    teacher_probs = ref.softmax(teacher_logits / temp)
    student_logp = ref.log_softmax(student_logits / temp)
    return -np.mean(np.sum(temp ** 2 * teacher_probs * student_logp, -1))


def rev_cross_ent(teacher_logits, student_logits, temp):
    """TeacherStudentRevCrossEntLoss."""
    temp = _temp(temp, len(student_logits))
    teacher_logp = ref.log_softmax(teacher_logits / temp)
    student_probs = ref.softmax(student_logits / temp)
    return -np.mean(np.sum(temp ** 2 * student_probs * teacher_logp, -1))


def teacher_student_kl(teacher_logits, student_logits, temp):
    """TeacherStudentKLLoss: KL(teacher || student) of the tempered distributions, mean."""
    temp = _temp(temp, len(student_logits))
    return np.mean(_kl(ref.log_softmax(teacher_logits / temp), ref.log_softmax(student_logits / temp)))


def symmetrized_kl(teacher_logits, student_logits, temp):
    """SymmetrizedKLLoss: kl_p_q.mean() + kl_q_p.mean(); no 1/2."""
    temp = _temp(temp, len(student_logits))
    log_t, log_s = ref.log_softmax(teacher_logits / temp), ref.log_softmax(student_logits / temp)
    return np.mean(_kl(log_t, log_s)) + np.mean(_kl(log_s, log_t))


def averaged_symmetrized_kl(member_logits, student_logits, temp):
    """AveragedSymmetrizedKLLoss on member logits [m, batch, classes]: the KLs
    between the student and each member, each averaged over members and rows."""
    temp = _temp(temp, len(student_logits))[None]
    log_t = ref.log_softmax(np.asarray(member_logits, np.float64) / temp)
    log_s = ref.log_softmax(student_logits / temp[0])[None]
    return np.mean(_kl(log_t, log_s)) + np.mean(_kl(log_s, log_t))


def brier(teacher_logits, student_logits, temp):
    """BrierLoss: F.mse_loss(student_probs, teacher_probs), a mean over rows and classes."""
    temp = _temp(temp, len(student_logits))
    return np.mean((ref.softmax(student_logits / temp) - ref.softmax(teacher_logits / temp)) ** 2)


def hard_cross_ent(teacher_logits, student_logits, temp, labels=None):
    """TeacherStudentHardCrossEntLoss (argmax labels unless given):
    -(temp[label]^2 * log_softmax(z_s / temp)[label]).mean()."""
    temp = _temp(temp, len(student_logits))
    labels = np.argmax(teacher_logits, -1) if labels is None else labels
    rows = np.arange(len(student_logits))
    student_logp = ref.log_softmax(student_logits / temp)[rows, labels]
    return -np.mean(temp[:, 0] ** 2 * student_logp)


def cvx_cross_ent(teacher_logits, student_logits, temp, epoch, num_epochs, beta=1.0):
    """TeacherStudentCvxCrossEnt after `epoch` step() calls: beta * hard + (1 - beta) * fwd."""
    current = beta
    for _ in range(epoch):  # step(): beta - init_beta / T_max, floored at 0
        current = max(current - beta / num_epochs, 0.0)
    return (current * hard_cross_ent(teacher_logits, student_logits, temp)
            + (1 - current) * fwd_cross_ent(teacher_logits, student_logits, temp))


def reduce_ensemble_logits(member_logits):
    """reduce_ensemble_logits on [m, batch, classes] (the reference's is [batch, m, classes])."""
    log_p = ref.log_softmax(np.asarray(member_logits, np.float64))
    top = log_p.max(0)
    return top + np.log(np.exp(log_p - top).sum(0)) - np.log(len(member_logits))
