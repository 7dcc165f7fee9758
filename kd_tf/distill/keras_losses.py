"""kd_tf's teacher-student losses as `keras.distillation.DistillationLoss`
objects, for Keras's own generic `keras.distillation.Distiller`:

    keras.distillation.Distiller(
        teacher=ensemble, student=student, student_loss_weight=0.0,
        distillation_losses=kd_tf.distill.distillation_loss("fwd_ce", 4.0))

gives the same loss value as kd_tf's Distiller with alpha = 0 on the same
batch. Only losses computed from teacher and student logits alone are
offered: avg_sym_kl needs each member's logits, cvx the epoch, and sampled or
corrupted hard labels an RNG that kd_tf's Distiller checkpoints.
"""

import keras
from keras import ops

from kd_tf.distill import losses


def _hard_argmax(teacher_logits, student_logits, temperature):
    labels = losses.hard_labels(teacher_logits, seed=None)
    return losses.hard_cross_entropy(labels, student_logits, temperature)


PER_ROW = {**losses.SOFT_LOSSES, "hard": _hard_argmax}
WHY_NOT = {
    "avg_sym_kl": "it needs each member's logits, not the ensemble's",
    "cvx": "it anneals with the epoch",
}


@keras.saving.register_keras_serializable(package="kd_tf")
class TeacherStudentLoss(keras.distillation.DistillationLoss):
    """The batch mean of a kd_tf per-row loss at one temperature."""

    def __init__(self, loss="fwd_ce", temperature=4.0):
        if loss not in PER_ROW:
            raise ValueError(f"{loss!r} is not available as a keras.distillation loss"
                             f"{': ' + WHY_NOT[loss] if loss in WHY_NOT else ''}; choose one of {sorted(PER_ROW)}, "
                             "or use kd_tf.Distiller.")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        self.loss = loss
        self.temperature = float(temperature)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return ops.mean(PER_ROW[self.loss](teacher_outputs, student_outputs, self.temperature))

    def get_config(self):
        return {"loss": self.loss, "temperature": self.temperature}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def distillation_loss(name, temperature=4.0):
    """The --loss `name` (fwd_ce, rev_ce, kl, sym_kl, brier, hard) at
    `temperature`, as a keras.distillation.DistillationLoss."""
    return TeacherStudentLoss(name, temperature)
