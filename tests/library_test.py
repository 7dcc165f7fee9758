"""kd_tf as a library: a cheap `import kd_tf`, its public names, Keras
loading kd_tf models after `import kd_tf` (in any order), and kd_tf's losses
inside Keras's own keras.distillation.Distiller."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

import kd_tf
from kd_tf.distill import keras_losses
from kd_tf.models.registry import build_model
from kd_tf.train.optimizers import TorchSGD
from tests import fixtures

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code):
    """Runs `code` in a fresh interpreter that sees kd_tf as this test does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT, env=env)


class ImportTest(absltest.TestCase):
    def test_import_kd_tf_does_not_load_tensorflow(self):
        proc = _python("""
            import sys
            import kd_tf
            print(sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules))
        """)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertEqual(proc.stdout.strip(), "[]")

    def test_any_kd_tf_module_can_be_a_programs_first_import(self):
        # Such a module imports Keras while it is half-defined; registering kd_tf's classes at that
        # moment imported the registry, which imports the module by name, and the import failed.
        for module in ("kd_tf.models.preresnet", "kd_tf.models.layers", "kd_tf.models.sngan",
                       "kd_tf.train.schedules"):
            proc = _python(f"""
                import sys
                import {module}
                import keras
                registered = keras.saving.get_custom_objects()
                print(all(f"kd_tf>{{name}}" in registered for name in ("PreResNet", "LeNet5", "VGG", "TorchSGD",
                                                                       "TeacherEnsemble", "TeacherStudentLoss")),
                      any(type(finder).__name__ == "_KerasImportHook" for finder in sys.meta_path))
            """)
            self.assertEqual(proc.returncode, 0, f"{module}: {proc.stderr[-2000:]}")
            self.assertEqual(proc.stdout.strip(), "True False", module)

    def test_every_public_name_resolves(self):
        for name in kd_tf.__all__:
            self.assertIsNotNone(getattr(kd_tf, name), name)
        self.assertIn("Distiller", dir(kd_tf))
        with self.assertRaises(AttributeError):
            kd_tf.no_such_name  # noqa: B018

    def test_public_names_are_the_library_objects(self):
        from kd_tf.distill.distiller import Distiller
        from kd_tf.train import teacher_store

        self.assertIs(kd_tf.Distiller, Distiller)
        self.assertIs(kd_tf.load_ensemble, teacher_store.load_ensemble)
        self.assertIs(kd_tf.build_model, build_model)
        self.assertIs(kd_tf.distill.distillation_loss, keras_losses.distillation_loss)


class LoadingTest(parameterized.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = os.path.join(absltest.get_default_test_tmpdir(), "lenet.keras")
        keras.utils.set_random_seed(0)
        cls.model = build_model("lenet5", 10)
        cls.model.save(cls.path)
        cls.x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
        cls.expected = np.asarray(cls.model(cls.x))

    @parameterized.named_parameters(
        ("kd_tf_first", "import kd_tf\nimport keras\nload = keras.saving.load_model"),
        ("keras_first", "import keras\nimport kd_tf\nload = keras.saving.load_model"),
        ("tf_keras", "import tensorflow as tf\nimport kd_tf\nload = tf.keras.models.load_model"),
        # TensorFlow imports keras itself, after looking it up with importlib.util.find_spec.
        ("kd_tf_then_tensorflow", "import kd_tf\nimport tensorflow\nimport keras\nload = keras.saving.load_model"),
        # A kd_tf module first: the registration waits until it is defined.
        ("kd_tf_module_first", "from kd_tf.models.preresnet import PreResNet\nimport keras\n"
                               "load = keras.saving.load_model"),
    )
    def test_import_kd_tf_is_enough_to_load_a_model(self, imports):
        np.save(os.path.join(absltest.get_default_test_tmpdir(), "x.npy"), self.x)
        proc = _python(imports + f"""
import numpy as np
model = load({self.path!r})
x = np.load({os.path.join(absltest.get_default_test_tmpdir(), "x.npy")!r})
print(type(model).__name__, np.asarray(model(x)).tolist())
""")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        name, _, logits = proc.stdout.strip().partition(" ")
        self.assertEqual(name, "LeNet5")
        np.testing.assert_allclose(np.array(eval(logits)), self.expected, rtol=1e-5, atol=1e-6)  # noqa: S307

    def test_without_kd_tf_keras_cannot_load_it(self):
        # What `import kd_tf` fixes: plain Keras does not know the class.
        proc = _python(f"import keras\nkeras.saving.load_model({self.path!r})")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("LeNet5", proc.stderr)


class KerasDistillationTest(parameterized.TestCase):
    """keras.distillation.Distiller with kd_tf's losses gives kd_tf's loss."""

    @parameterized.parameters(*sorted(keras_losses.PER_ROW))
    def test_same_loss_as_kd_tf_distiller(self, name):
        batch = fixtures.mnist_like_batch(batch_size=16, seed=2, temperature=3.0)
        ours = fixtures.lenet_distiller(num_teachers=2, temperature=3.0, loss=name)
        ours.compile(optimizer=TorchSGD(0.0, momentum=0.0))
        expected = ours.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history["loss"][0]

        theirs = keras.distillation.Distiller(
            teacher=ours.teacher, student=ours.student, student_loss_weight=0.0,
            distillation_losses=kd_tf.distill.distillation_loss(name, 3.0))
        theirs.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
        logs = theirs.train_on_batch(batch["image"], np.maximum(batch["label"], 0), return_dict=True)
        self.assertAlmostEqual(logs["total_loss"], expected, delta=1e-5 * max(1.0, abs(expected)))
        self.assertGreater(expected, 0.0)

    def test_losses_that_need_more_than_logits_are_refused_with_the_reason(self):
        with self.assertRaisesRegex(ValueError, "avg_sym_kl.*each member's logits"):
            kd_tf.distill.distillation_loss("avg_sym_kl", 4.0)
        with self.assertRaisesRegex(ValueError, "cvx.*epoch"):
            kd_tf.distill.distillation_loss("cvx", 4.0)

    def test_serializes(self):
        loss = kd_tf.distill.distillation_loss("rev_ce", 2.0)
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        self.assertEqual((again.loss, again.temperature), ("rev_ce", 2.0))


if __name__ == "__main__":
    absltest.main()
