"""Direct numpy definitions of the study's quantities, written independently
of kd_tf, that the tests compare kd_tf against."""

import numpy as np


def log_softmax(z, axis=-1):
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def accuracy(labels, logits):
    return 100.0 * np.mean(np.argmax(logits, -1) == labels)


def nll(labels, logits):
    return -np.mean(log_softmax(logits)[np.arange(len(labels)), labels])


def ece(labels, logits, bins=10):
    probs = softmax(logits)
    conf = probs.max(-1)
    correct = probs.argmax(-1) == labels
    total = 0.0
    for k in range(1, bins + 1):
        in_bin = (conf > (k - 1) / bins) & (conf <= k / bins)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return 100.0 * total


def agreement(teacher_logits, student_logits):
    return 100.0 * np.mean(np.argmax(teacher_logits, -1) == np.argmax(student_logits, -1))


def kl(teacher_logits, student_logits):
    p = softmax(teacher_logits)
    return np.mean(np.sum(p * (log_softmax(teacher_logits) - log_softmax(student_logits)), -1))


def ensemble_probs(member_logits):
    return np.mean([softmax(z) for z in member_logits], axis=0)


def kd_loss(teacher_logits, student_logits, tau):
    tau = np.broadcast_to(np.asarray(tau, np.float64), (len(teacher_logits),))[:, None]
    pt = softmax(teacher_logits / tau)
    return -(tau[:, 0] ** 2) * np.sum(pt * log_softmax(student_logits / tau), -1)
