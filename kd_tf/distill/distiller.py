"""The Distiller: a Keras model whose train step distils a teacher ensemble
into a student on exactly the batch the student sees.

Batches are dicts from kd_tf.data.pipeline: "image", "label" (-1 where a row
has no true label) and, for distillation, a per-row "temperature"; where the
inputs repeat exactly, also the teachers' "teacher_logits", computed once.

The loss and metrics are keras.ops; the step itself is TensorFlow's
(GradientTape and the replica context), since Keras 3 custom train steps are
backend-specific.
"""

import keras
import tensorflow as tf
from keras import ops

from kd_tf import metrics as kd_metrics
from kd_tf.distill import losses
from kd_tf.distill.ensemble import ensemble_logits


def _num_replicas():
    return tf.distribute.get_replica_context().num_replicas_in_sync


def _global_sum(value):
    """Sum of a per-replica scalar over all replicas (identity on one device)."""
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, value)


class Distiller(keras.Model):
    """Trains `student` to match `teacher` (a frozen TeacherEnsemble).

    Loss = alpha * CE(student, true labels; labelled rows)
           + (1 - alpha) * mean_rows L(teacher, student; per-row tau),
    L chosen by `loss` (kd_tf.distill.losses.LOSSES; fwd_ce is L_KD).

    Across replicas, each replica's loss is its share of the global mean
    (sum over its rows / global count), since Keras all-reduces gradients with
    SUM; the result is the same update as one device on the global batch.

    Only the student is saved (kd_tf.train.export); the Distiller is a
    training harness, not an artifact.
    """

    def __init__(self, student, teacher, temperature=4.0, alpha=0.0, loss="fwd_ce", hard_label="argmax",
                 label_corruption=0.0, epochs=1, seed=0, cvx_beta=1.0, sampler=None, **kwargs):
        super().__init__(**kwargs)
        if loss not in losses.LOSSES:
            raise ValueError(f"Unknown loss {loss!r}; choose one of {list(losses.LOSSES)}.")
        if hard_label not in ("argmax", "sample"):
            raise ValueError(f"hard_label must be argmax or sample, got {hard_label!r}.")
        if not 0.0 <= label_corruption <= 1.0:
            raise ValueError(f"label_corruption must lie in [0, 1], got {label_corruption}.")
        self.loss_name, self.hard_label, self.label_corruption = loss, hard_label, float(label_corruption)
        self.epochs, self.cvx_beta = int(epochs), float(cvx_beta)
        # The epoch (set by kd_tf.train.callbacks.epoch_variable) anneals cvx; the
        # seed draws sampled or corrupted hard labels. Both are checkpointed.
        self.epoch = keras.Variable(0, dtype="int32", trainable=False, name="epoch")
        self.seed_generator = keras.random.SeedGenerator(seed)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        self.student = student
        self.teacher = teacher
        self.sampler = sampler  # kd_tf.distill.device_sampling.DeviceSampler: synthetic rows in the step
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.generalisation = kd_metrics.generalisation_metrics()
        self.fidelity = kd_metrics.fidelity_metrics()

    def build(self, input_shape=None):
        # The student and the teacher arrive built; the Distiller's own state
        # (the epoch, the RNG) is created in __init__.
        self.built = True

    def fit(self, *args, shuffle=False, **kwargs):
        """Keras's fit; shuffle defaults to False because kd_tf's streams are
        shuffled (statelessly, per epoch) in the pipeline already."""
        return super().fit(*args, shuffle=shuffle, **kwargs)

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

    def teacher_outputs(self, x):
        """(ensemble logits, member logits or None): members only where the loss needs them."""
        if self.loss_name == "avg_sym_kl":
            members = ops.cast(self.teacher.member_logits(x), "float32")
            return ensemble_logits(members), members
        return ops.cast(self.teacher(x, training=False), "float32"), None

    def per_row_loss(self, teacher_logits, student_logits, temperature, member_logits=None):
        if self.loss_name in losses.SOFT_LOSSES:
            return losses.SOFT_LOSSES[self.loss_name](teacher_logits, student_logits, temperature)
        if self.loss_name == "avg_sym_kl":
            return losses.member_averaged_symmetric_kl(member_logits, student_logits, temperature)
        labels = losses.hard_labels(teacher_logits, self.seed_generator, self.hard_label == "sample",
                                    self.label_corruption, temperature)
        hard = losses.hard_cross_entropy(labels, student_logits, temperature)
        if self.loss_name == "hard":
            return hard
        weight = losses.cvx_hard_weight(self.epoch, self.epochs, self.cvx_beta)  # cvx
        return weight * hard + (1.0 - weight) * losses.kd_cross_entropy(teacher_logits, student_logits, temperature)

    def _loss(self, data, teacher_logits, student_logits, member_logits=None):
        """Returns (this replica's share of the global loss, global loss estimate)."""
        rows = ops.shape(student_logits)[0]
        global_rows = ops.cast(rows * _num_replicas(), "float32")
        temperature = data.get("temperature", self.temperature)
        kd = ops.sum(self.per_row_loss(teacher_logits, student_logits, temperature, member_logits)) / global_rows
        loss = (1.0 - self.alpha) * kd
        if self.alpha > 0.0:
            ce, mask = losses.label_cross_entropy(data["label"], student_logits)
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
        if self.sampler is not None:
            data = self.sampler.append(data, self.optimizer.iterations)
        x = data["image"]
        if "teacher_logits" in data:  # computed once for inputs that repeat exactly (--aug=none)
            if self.loss_name == "avg_sym_kl":
                raise ValueError("avg_sym_kl needs each member's logits: cached ensemble logits will not do.")
            teacher_logits, member_logits = ops.cast(data["teacher_logits"], "float32"), None
        else:
            teacher_logits, member_logits = self.teacher_outputs(x)
        teacher_logits = ops.stop_gradient(teacher_logits)
        with tf.GradientTape() as tape:
            # Losses and metrics in float32 whatever the student computes in.
            student_logits = ops.cast(self.student(x, training=True), "float32")
            loss, global_loss = self._loss(data, teacher_logits, student_logits, member_logits)
            # Identity unless the optimizer scales losses (fp16's LossScaleOptimizer,
            # which unscales the gradients and skips steps that overflow).
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.student.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._update_metrics(data, teacher_logits, student_logits, global_loss)

    def test_step(self, data):
        x = data["image"]
        teacher_logits, member_logits = self.teacher_outputs(x)
        student_logits = ops.cast(self.student(x, training=False), "float32")
        _, global_loss = self._loss(data, teacher_logits, student_logits, member_logits)
        return self._update_metrics(data, teacher_logits, student_logits, global_loss)
