"""Reference checkpoints: imported weights give the reference's logits
(computed here in numpy straight from the state dict), the export inverts the
import, and bad state dicts fail with messages and without side effects."""

import json
import os

import keras
import numpy as np
from absl.testing import absltest, parameterized

from kd_tf.models import reference_checkpoints as rc
from kd_tf.models.registry import build_model
from kd_tf.train import reference_io
from tests import numpy_reference as ref
from tests.binaries import run


def _run(name, *flags):
    return run(name, *flags)[0]


def _nhwc(x):
    return np.transpose(x, (0, 2, 3, 1)).astype("float32")


class NumericImportTest(parameterized.TestCase):
    @parameterized.parameters(("lenet5", 10), ("preresnet20", 10), ("preresnet20", 100), ("preresnet56", 10))
    def test_logits_match_the_reference_forward_pass(self, name, classes):
        model = build_model(name, classes)
        state = ref.random_state_dict(rc.reference_shapes(model), seed=classes)
        state["bn.num_batches_tracked"] = np.array(7)  # PyTorch saves these; they are ignored
        rc.load_state_dict(model, state)
        rng = np.random.default_rng(1)
        if name == "lenet5":
            x = rng.uniform(-1, 1, (6, 1, 28, 28))
            expected = ref.lenet5_forward(state, x)
        else:
            x = rng.uniform(-1, 1, (6, 3, 32, 32))
            expected = ref.preresnet_forward(state, x, int(name[len("preresnet"):]))
        got = np.asarray(model(_nhwc(x), training=False))
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)

    def test_key_names_follow_the_reference(self):
        keys = set(rc.reference_shapes(build_model("preresnet20", 10)))
        for key in ("conv1.weight", "layer1.0.bn1.weight", "layer2.0.downsample.0.weight",
                    "layer3.2.conv2.weight", "bn.running_var", "fc.bias"):
            self.assertIn(key, keys)
        self.assertEqual(set(rc.reference_shapes(build_model("lenet5", 10))),
                         {f"{i}.{p}" for i in (0, 3, 7, 9, 11) for p in ("weight", "bias")})
        vgg = set(rc.reference_shapes(build_model("vgg16", 10)))
        self.assertIn("features.28.weight", vgg)  # the 13th conv
        self.assertIn("classifier.6.weight", vgg)
        self.assertEqual(rc.reference_shapes(build_model("lenet5", 10))["7.weight"], (120, 400))


class RoundTripTest(parameterized.TestCase):
    @parameterized.parameters("lenet5", "preresnet20", "preresnet56", "vgg16_bn", "preresnet20_layernorm")
    def test_keras_to_npz_to_keras_is_identical(self, name):
        keras.utils.set_random_seed(3)
        model = build_model(name, 10)
        # Move BN statistics away from their defaults so that they count.
        for v in model.non_trainable_variables:
            v.assign(np.random.default_rng(0).uniform(0.5, 1.5, tuple(v.shape)).astype("float32"))
        tmp = self.create_tempdir().full_path
        model.save(os.path.join(tmp, "m.keras"))
        reference_io.export_npz(os.path.join(tmp, "m.keras"), os.path.join(tmp, "m.npz"))
        imported = reference_io.import_checkpoint(name, 10, os.path.join(tmp, "m.npz"))
        shape = (2, 28, 28, 1) if name == "lenet5" else (2, 32, 32, 3)
        x = np.random.default_rng(1).uniform(-1, 1, shape).astype("float32")
        np.testing.assert_array_equal(np.asarray(imported(x, training=False)), np.asarray(model(x, training=False)))

    def test_pickled_and_wrapped_state_dicts(self):
        import pickle

        model = build_model("lenet5", 10)
        state = {f"module.{k}": v for k, v in rc.state_dict(model).items()}  # DataParallel names
        path = os.path.join(self.create_tempdir().full_path, "ckpt.pkl")
        with open(path, "wb") as f:
            pickle.dump({"state_dict": state}, f)
        imported = reference_io.import_checkpoint("lenet5", 10, path)
        x = np.zeros((1, 28, 28, 1), "float32")
        np.testing.assert_array_equal(np.asarray(imported(x)), np.asarray(model(x)))


class ErrorsTest(absltest.TestCase):
    def setUp(self):
        self.model = build_model("preresnet20", 10)
        self.state = rc.state_dict(self.model)
        self.before = [np.array(v) for v in self.model.variables]

    def assert_untouched(self):
        for before, v in zip(self.before, self.model.variables):
            np.testing.assert_array_equal(before, np.asarray(v))

    def test_unknown_key(self):
        self.state["layer4.0.conv1.weight"] = np.zeros((3, 3, 3, 3), "float32")
        with self.assertRaisesRegex(rc.CheckpointError, r"unknown keys \['layer4.0.conv1.weight'\]"):
            rc.load_state_dict(self.model, self.state)

    def test_missing_key(self):
        del self.state["layer2.1.bn2.running_var"]
        with self.assertRaisesRegex(rc.CheckpointError, r"missing keys \['layer2.1.bn2.running_var'\]"):
            rc.load_state_dict(self.model, self.state)

    def test_misshapen_key_names_expected_and_found(self):
        self.state["fc.weight"] = np.zeros((100, 64), "float32")
        with self.assertRaisesRegex(rc.CheckpointError, r"fc.weight: expected shape \(10, 64\), found \(100, 64\)"):
            rc.load_state_dict(self.model, self.state)

    def test_failed_load_leaves_the_model_untouched(self):
        self.state = {k: v + 1 for k, v in self.state.items()}
        self.state["fc.bias"] = np.zeros(7, "float32")
        with self.assertRaises(rc.CheckpointError):
            rc.load_state_dict(self.model, self.state)
        self.assert_untouched()

    def test_unsupported_architecture(self):
        with self.assertRaisesRegex(rc.CheckpointError, "supported"):
            rc.reference_mapping(build_model("bilstm", 2))


class BinariesTest(absltest.TestCase):
    def test_import_writes_nothing_on_failure(self):
        tmp = self.create_tempdir().full_path
        state = rc.state_dict(build_model("lenet5", 10))
        state["11.weight"] = np.zeros((9, 84), "float32")
        np.savez(os.path.join(tmp, "bad.npz"), **state)
        proc = _run("import_reference", "--arch=lenet5", "--num_classes=10",
                    f"--state_dict={tmp}/bad.npz", f"--output={tmp}/out.keras")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("11.weight: expected shape (10, 84), found (9, 84)", proc.stderr)
        self.assertEqual(sorted(os.listdir(tmp)), ["bad.npz"])

    def test_imported_members_form_an_ensemble_distill_accepts(self):
        tmp = self.create_tempdir().full_path
        teacher_dir = os.path.join(tmp, "teachers")
        for seed in (0, 1):
            keras.utils.set_random_seed(seed)
            np.savez(os.path.join(tmp, f"t{seed}.npz"), **rc.state_dict(build_model("lenet5", 10)))
            proc = _run("import_reference", "--arch=lenet5", "--num_classes=10", f"--state_dict={tmp}/t{seed}.npz",
                        f"--teacher_dir={teacher_dir}", "--dataset=mnist5k")
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        with open(os.path.join(teacher_dir, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual([m["file"] for m in manifest["members"]], ["member_0.keras", "member_1.keras"])
        self.assertIsNone(manifest["recipe"])
        proc = _run("distill", "--aug=baseline", "--num_teachers=2", "--epochs=1", f"--teacher_dir={teacher_dir}",
                    f"--output_dir={tmp}/run")
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertIn("test agreement", proc.stdout)
        # Imported members have no initial weights to start a student from.
        proc = _run("distill", "--num_teachers=1", "--epochs=1", "--init=teacher_init",
                    f"--teacher_dir={teacher_dir}", f"--output_dir={tmp}/init")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("imported teachers have none", proc.stderr)
        # An imported ensemble cannot train more members: a clear error, no training.
        proc = _run("distill", "--num_teachers=3", "--epochs=1", f"--teacher_dir={teacher_dir}",
                    f"--output_dir={tmp}/run3")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("2 imported members", proc.stderr)

    def test_export_binary(self):
        tmp = self.create_tempdir().full_path
        build_model("lenet5", 10).save(os.path.join(tmp, "m.keras"))
        proc = _run("export_reference", f"--model={tmp}/m.keras", f"--output={tmp}/m.npz")
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        with np.load(os.path.join(tmp, "m.npz")) as data:
            self.assertEqual(data["7.weight"].shape, (120, 400))


if __name__ == "__main__":
    absltest.main()
