"""A DistillerGroup trains each student as its own Distiller would: the same
batches through the same pool, student k with its own members, temperature
and optimizer, gives the weights and metrics of k's single run to float
rounding, and no other single run's (so a student that read another's
ensemble or temperature fails). Also under XLA (jit_compile=True, the TPU
stand-in) and under MirroredStrategy on 2 logical CPUs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl.testing import absltest  # noqa: E402

from kd_tf.distill.distiller import Distiller  # noqa: E402
from kd_tf.distill.ensemble import TeacherEnsemble  # noqa: E402
from kd_tf.distill.group import DistillerGroup, StudentSettings  # noqa: E402

CLASSES, SHAPE, BATCH, STEPS = 5, (6, 6, 1), 16, 6
SETTINGS = (StudentSettings((0,), 1.0), StudentSettings((0,), 4.0), StudentSettings((0, 1, 2), 1.0),
            StudentSettings((0, 1, 2), 4.0, alpha=0.3), StudentSettings((1, 2), 2.0, loss="sym_kl"))
TOLERANCE = 1e-5  # float rounding of a few SGD steps; the students' differences are orders larger


def _model(seed, hidden):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(hidden, "relu"),
                              keras.layers.Dense(CLASSES)])
    return model


def _batches():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(STEPS * BATCH, *SHAPE)).astype("float32")
    labels = rng.integers(0, CLASSES, STEPS * BATCH).astype("int32")
    # A stream's per-row temperature is one run's: the group must ignore it.
    temperature = np.full(STEPS * BATCH, 7.0, "float32")
    return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels, "temperature": temperature}
                                              ).batch(BATCH)


def _without_temperature(ds):
    return ds.map(lambda b: {k: v for k, v in b.items() if k != "temperature"})


def _optimizer():
    return keras.optimizers.SGD(0.2, momentum=0.9)


class DistillerGroupTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool = [_model(100 + i, 12) for i in range(3)]
        cls.initial = [_model(k, 8).get_weights() for k in range(len(SETTINGS))]
        cls.singles = []
        for k, s in enumerate(SETTINGS):
            student = _model(0, 8)
            student.set_weights(cls.initial[k])
            distiller = Distiller(student, TeacherEnsemble([cls.pool[i] for i in s.members]),
                                  temperature=s.temperature, alpha=s.alpha, loss=s.loss)
            distiller.compile(optimizer=_optimizer())
            history = distiller.fit(_without_temperature(_batches()), epochs=2, verbose=0)
            cls.singles.append((student.get_weights(), history.history))

    def _group(self, jit_compile=False):
        students = []
        for k in range(len(SETTINGS)):
            student = _model(0, 8)
            student.set_weights(self.initial[k])
            students.append(student)
        group = DistillerGroup(students, self.pool, SETTINGS)
        group.compile(optimizers=[_optimizer() for _ in SETTINGS], jit_compile=jit_compile)
        return group, students

    def _check(self, students, history):
        for k, student in enumerate(students):
            weights = student.get_weights()
            for other, (single, single_history) in enumerate(self.singles):
                gap = max(float(np.max(np.abs(a - b))) for a, b in zip(weights, single))
                if other == k:
                    self.assertLess(gap, TOLERANCE, f"student {k} differs from its single run")
                    for name in ("loss", "agreement", "kl", "accuracy"):
                        np.testing.assert_allclose(history[f"s{k}_{name}"], single_history[name], rtol=1e-4,
                                                   err_msg=f"student {k}'s {name}")
                else:
                    self.assertGreater(gap, 100 * TOLERANCE, f"student {k} trained like student {other}")

    def test_each_student_is_its_single_run(self):
        group, students = self._group()
        self._check(students, group.fit(_batches(), epochs=2, verbose=0).history)

    def test_under_xla(self):
        group, students = self._group(jit_compile=True)
        self._check(students, group.fit(_batches(), epochs=2, verbose=0).history)

    def test_under_two_replicas(self):
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            pool = [_model(100 + i, 12) for i in range(3)]
            for member, original in zip(pool, self.pool):
                member.set_weights(original.get_weights())
            students = []
            for k in range(len(SETTINGS)):
                student = _model(0, 8)
                student.set_weights(self.initial[k])
                students.append(student)
            group = DistillerGroup(students, pool, SETTINGS)
            group.compile(optimizers=[_optimizer() for _ in SETTINGS])
        history = group.fit(strategy.experimental_distribute_dataset(_batches()), epochs=2, steps_per_epoch=STEPS,
                            verbose=0).history
        self._check(students, history)

    def test_refuses_what_it_cannot_group(self):
        student = _model(0, 8)
        with self.assertRaisesRegex(ValueError, "loss must be one of"):
            DistillerGroup([student], self.pool, [StudentSettings((0,), loss="avg_sym_kl")])
        with self.assertRaisesRegex(ValueError, "not indices into a pool of 3"):
            DistillerGroup([student], self.pool, [StudentSettings((3,))])


if __name__ == "__main__":
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    absltest.main()
