"""Several students distilled from one teacher pool on the same batches, each
member's forward pass computed once per batch (issue 27).

Inside a study, the students of one policy and trial read the same stream and
draw their members from the same pool; they differ only in which members
they average, the temperature, alpha and the loss. A DistillerGroup runs the
pool once per batch and then each student's own Distiller step on the shared
member logits: its ensemble, loss, metrics and optimizer are its own, so each
student trains exactly as it would alone (tests/group_test.py checks this to
float rounding).
"""

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from kd_tf.distill import losses
from kd_tf.distill.distiller import Distiller
from kd_tf.distill.ensemble import TeacherEnsemble, ensemble_logits


@dataclasses.dataclass(frozen=True)
class StudentSettings:
    """What may differ between the students of a group: which pool members
    form the student's teacher (the log of their mean probability), its
    temperature, alpha and loss."""
    members: tuple  # indices into the pool
    temperature: float = 4.0
    alpha: float = 0.0
    loss: str = "fwd_ce"


# Losses a grouped student may use: those that read only the ensemble's logits
# (avg_sym_kl reads each member's; the hard-label losses draw from their own RNG
# and could be grouped too, but no study groups them).
GROUPABLE_LOSSES = tuple(losses.SOFT_LOSSES)


class DistillerGroup(keras.Model):
    """Trains `students` (Keras models) against the frozen `pool` (member
    models), student i with `settings[i]` and its own optimizer (compile with
    `optimizers=`). fit/evaluate report each student's metrics as
    "s<i>_<name>" (s0_loss, s0_agreement, ...)."""

    def __init__(self, students, pool, settings, epochs=1, seed=0, **kwargs):
        super().__init__(**kwargs)
        if len(students) != len(settings) or not students:
            raise ValueError(f"{len(students)} students for {len(settings)} settings: one settings each.")
        for s in settings:
            if s.loss not in GROUPABLE_LOSSES:
                raise ValueError(f"A grouped student's loss must be one of {GROUPABLE_LOSSES}, not {s.loss!r}.")
            if not s.members or any(not 0 <= i < len(pool) for i in s.members):
                raise ValueError(f"Members {s.members} are not indices into a pool of {len(pool)}.")
        self.pool = list(pool)
        for member in self.pool:
            member.trainable = False
        self.settings = tuple(settings)
        self.used = sorted({i for s in self.settings for i in s.members})
        # One Distiller per student: its loss, metrics and state (epoch, RNG), as a single run has.
        self.distillers = [
            Distiller(student, TeacherEnsemble([self.pool[i] for i in s.members]), temperature=s.temperature,
                      alpha=s.alpha, loss=s.loss, epochs=epochs, seed=seed, name=f"s{k}")
            for k, (student, s) in enumerate(zip(students, self.settings))]

    def compile(self, optimizers, **kwargs):
        if len(optimizers) != len(self.distillers):
            raise ValueError(f"{len(optimizers)} optimizers for {len(self.distillers)} students.")
        for distiller, optimizer in zip(self.distillers, optimizers):
            distiller.optimizer = optimizer
            # Built now, under the caller's strategy scope: a lazy build inside the
            # replicated step would create variables in a cond branch.
            optimizer.build(distiller.student.trainable_variables)
        # Keras's own optimizer slot (it counts steps); each student steps its own.
        super().compile(optimizer=optimizers[0], **kwargs)

    def build(self, input_shape=None):
        self.built = True

    def call(self, x, training=False):
        if isinstance(x, dict):
            x = x["image"]
        return [d.student(x, training=training) for d in self.distillers]

    @property
    def metrics(self):
        return [m for d in self.distillers for m in d.metrics]

    def teacher_logits(self, x):
        """Each student's ensemble logits, from one forward pass of each member used."""
        logits = {i: self.pool[i](x, training=False) for i in self.used}
        return [ops.stop_gradient(ops.cast(ensemble_logits(ops.stack([logits[i] for i in s.members], axis=0)),
                                           "float32"))
                for s in self.settings]

    def _logs(self, k, logs):
        return {f"s{k}_{name}": value for name, value in logs.items()}

    def _own_data(self, k, data):
        """Student k's view of a batch: the stream's per-row temperature is one
        run's tau, so it is replaced by k's own column where the stream has one
        (pipeline.distributed_stream's student_temperatures), else dropped (the
        student's tau as a constant: equal values, but TensorFlow may round the
        step differently)."""
        own = {key: v for key, v in data.items() if not key.startswith("temperature")}
        if f"temperature_{k}" in data:
            own["temperature"] = data[f"temperature_{k}"]
        return own

    def train_step(self, data):
        x = data["image"]
        logs = {}
        for k, (distiller, teacher_logits) in enumerate(zip(self.distillers, self.teacher_logits(x))):
            student = distiller.student
            own = self._own_data(k, data)
            with tf.GradientTape() as tape:
                student_logits = ops.cast(student(x, training=True), "float32")
                loss, global_loss = distiller._loss(own, teacher_logits, student_logits)
                scaled_loss = distiller.optimizer.scale_loss(loss)
            variables = student.trainable_variables
            gradients = tape.gradient(scaled_loss, variables)
            distiller.optimizer.apply_gradients(zip(gradients, variables))
            logs.update(self._logs(k, distiller._update_metrics(own, teacher_logits, student_logits, global_loss)))
        return logs

    def test_step(self, data):
        x = data["image"]
        logs = {}
        for k, (distiller, teacher_logits) in enumerate(zip(self.distillers, self.teacher_logits(x))):
            own = self._own_data(k, data)
            student_logits = ops.cast(distiller.student(x, training=False), "float32")
            _, global_loss = distiller._loss(own, teacher_logits, student_logits)
            logs.update(self._logs(k, distiller._update_metrics(own, teacher_logits, student_logits, global_loss)))
        return logs
