"""The Distiller: a Keras model whose train step distils a teacher ensemble
into a student on exactly the batch the student sees.

Batches are dicts from kd_tf.data.pipeline: "image", "label" (-1 where a row
has no true label) and, for distillation, a per-row "temperature".

The loss and metrics are keras.ops; the step itself is TensorFlow's
(GradientTape and the replica context), since Keras 3 custom train steps are
backend-specific.
"""

import keras
import tensorflow as tf
from keras import ops

from kd_tf import metrics as kd_metrics
from kd_tf.distill.losses import kd_cross_entropy, label_cross_entropy


def _num_replicas():
    return tf.distribute.get_replica_context().num_replicas_in_sync


def _global_sum(value):
    """Sum of a per-replica scalar over all replicas (identity on one device)."""
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, value)


class Distiller(keras.Model):
    """Trains `student` to match `teacher` (a frozen TeacherEnsemble).

    Loss = alpha * CE(student, true labels; labelled rows)
           + (1 - alpha) * mean_rows L_KD(teacher, student; per-row tau).

    Across replicas, each replica's loss is its share of the global mean
    (sum over its rows / global count), since Keras all-reduces gradients with
    SUM; the result is the same update as one device on the global batch.

    Only the student is saved (kd_tf.train.export); the Distiller is a
    training harness, not an artifact.
    """

    def __init__(self, student, teacher, temperature=4.0, alpha=0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        self.student = student
        self.teacher = teacher
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.generalisation = kd_metrics.generalisation_metrics()
        self.fidelity = kd_metrics.fidelity_metrics()

    def build(self, input_shape=None):
        # The student and the teacher arrive built; the Distiller owns no weights.
        self.built = True

    def call(self, x, training=False):
        # Keras builds the model on a whole batch dict under a distribution strategy.
        if isinstance(x, dict):
            x = x["image"]
        return self.student(x, training=training)

    @property
    def metrics(self):
        # Train and test steps report the same names, so that Keras reads the
        # replica-aggregated results of these objects.
        return [self.loss_tracker, *self.generalisation, *self.fidelity]

    def _loss(self, data, teacher_logits, student_logits):
        """Returns (this replica's share of the global loss, global loss estimate)."""
        rows = ops.shape(student_logits)[0]
        global_rows = ops.cast(rows * _num_replicas(), "float32")
        temperature = data.get("temperature", self.temperature)
        kd = ops.sum(kd_cross_entropy(teacher_logits, student_logits, temperature)) / global_rows
        loss = (1.0 - self.alpha) * kd
        if self.alpha > 0.0:
            ce, mask = label_cross_entropy(data["label"], student_logits)
            loss += self.alpha * ops.divide_no_nan(ops.sum(ce), _global_sum(ops.sum(mask)))
        return loss, loss * ops.cast(_num_replicas(), "float32")

    def _update_metrics(self, data, teacher_logits, student_logits, global_loss):
        self.loss_tracker.update_state(global_loss)
        labels = data.get("label")
        if labels is None:
            labels = -ops.ones((ops.shape(student_logits)[0],), "int32")
        for metric in self.generalisation:
            metric.update_state(labels, student_logits)
        for metric in self.fidelity:
            metric.update_state(teacher_logits, student_logits)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = data["image"]
        teacher_logits = ops.stop_gradient(self.teacher(x, training=False))
        with tf.GradientTape() as tape:
            student_logits = self.student(x, training=True)
            loss, global_loss = self._loss(data, teacher_logits, student_logits)
        variables = self.student.trainable_variables
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._update_metrics(data, teacher_logits, student_logits, global_loss)

    def test_step(self, data):
        x = data["image"]
        teacher_logits = self.teacher(x, training=False)
        student_logits = self.student(x, training=False)
        _, global_loss = self._loss(data, teacher_logits, student_logits)
        return self._update_metrics(data, teacher_logits, student_logits, global_loss)
