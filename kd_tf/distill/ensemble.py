"""The teacher ensemble: one definition of how member predictions combine.

The ensemble predicts the mean of its members' softmax probabilities. Its
"logits" are the log of that mean, logsumexp_i(log_softmax(z_i)) - log(m),
which every loss and metric then treats as the teacher's logits.
"""

import math

import keras
from keras import ops


def ensemble_logits(member_logits):
    """member_logits: [m, batch, classes] -> [batch, classes], log mean probability."""
    member_logits = ops.cast(member_logits, "float32")
    m = ops.shape(member_logits)[0]
    log_probs = ops.log_softmax(member_logits, axis=-1)
    return ops.logsumexp(log_probs, axis=0) - math.log(m)


@keras.saving.register_keras_serializable(package="kd_tf")
class TeacherEnsemble(keras.Model):
    """Frozen members evaluated in inference mode (BN uses running statistics)."""

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        if not members:
            raise ValueError("A teacher ensemble needs at least one member.")
        self.members = list(members)
        for member in self.members:
            member.trainable = False
        self.trainable = False

    def member_logits(self, x):
        return ops.stack([member(x, training=False) for member in self.members], axis=0)

    def call(self, x, training=False):
        del training  # Teachers are always in inference mode.
        return ensemble_logits(self.member_logits(x))

    @property
    def num_members(self):
        return len(self.members)
