"""Runs live wherever TensorFlow's filesystems reach: a whole (tiny)
distillation with its run and teacher directories on ram://, the stand-in
for gs:// here, read back from there; and damaged files (a truncated
checkpoint, a corrupt manifest, a truncated member) handled as a user needs."""

import json
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from absl.testing import absltest

from kd_tf.config.distill import DistillConfig
from kd_tf.config.paths import resolve_path
from kd_tf.config.runtime import Runtime
from kd_tf.config.teachers import TeacherConfig
from kd_tf.jobs import distill as distill_job
from kd_tf.jobs import teachers as teachers_job
from kd_tf.models.registry import build_model
from kd_tf.train import checkpoints, storage
from tests import binaries


def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class RamFilesystemTest(absltest.TestCase):
    def test_urls_pass_through_path_resolution(self):
        self.assertEqual(resolve_path("gs://bucket/runs/a/"), "gs://bucket/runs/a")
        self.assertEqual(resolve_path("ram://x/y"), "ram://x/y")
        self.assertTrue(os.path.isabs(resolve_path("runs/a")))

    def test_a_whole_distillation_on_ram(self):
        workspace = self.create_tempdir().full_path
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(workspace)  # relative paths would land here: nothing may
        teacher_dir, output_dir = "ram://kd/teachers", "ram://kd/runs/a"
        teachers_job.run(TeacherConfig(num_teachers=1, epochs=1, train_size=400, teacher_dir=teacher_dir), Runtime())
        config = DistillConfig(aug="mixup", num_teachers=1, epochs=2, batch_size=64, teacher_dir=teacher_dir)
        results = distill_job.run(config, Runtime(output_dir=output_dir), flags_text="--aug=mixup")
        self.assertEqual(os.listdir(workspace), [])

        self.assertEqual(storage.read_json(os.path.join(teacher_dir, "manifest.json"))["members"][0]["file"],
                         "member_0.keras")
        self.assertFalse(storage.exists(os.path.join(teacher_dir, "member_0.checkpoints")))
        listed = set(tf.io.gfile.listdir(output_dir))
        for name in ("flags.txt", "metrics.csv", "results.json", "results.csv", "test_predictions.npz",
                     "student.keras", "student_init.weights.h5"):
            self.assertIn(name, listed)
        saved = storage.read_json(os.path.join(output_dir, "results.json"))
        self.assertEqual(saved["student"]["test"], results["student"]["test"])
        self.assertEqual(storage.read_text(os.path.join(output_dir, "flags.txt")), "--aug=mixup")
        self.assertEqual(storage.read_text(os.path.join(output_dir, "metrics.csv")).splitlines()[0].split(",")[0],
                         "epoch")
        self.assertLen(storage.read_text(os.path.join(output_dir, "metrics.csv")).splitlines(), 3)
        predictions = storage.load_npz(os.path.join(output_dir, "test_predictions.npz"))
        agreement = 100 * np.mean(np.argmax(predictions["teacher_logits"], -1)
                                  == np.argmax(predictions["student_logits"], -1))
        self.assertAlmostEqual(agreement, results["student"]["test"]["agreement"], places=3)
        events = tf.io.gfile.glob(os.path.join(output_dir, "tensorboard", "*", "events.out.tfevents.*"))
        self.assertNotEmpty(events)
        self.assertNotEmpty(tf.io.gfile.glob(os.path.join(output_dir, "checkpoints", "ckpt-*.index")))
        student = keras.saving.load_model(os.path.join(output_dir, "student.keras"))
        served = tf.saved_model.load(os.path.join(output_dir, "student"))
        images = tf.zeros([2, 28, 28, 1])
        np.testing.assert_allclose(served.signatures["serving_default"](images=images)["logits"],
                                   student(images, training=False), atol=1e-5)
        again = distill_job.run(config, Runtime(output_dir=output_dir))  # finished: read back, not redone
        self.assertTrue(again["finished_before"])


class DamagedFilesTest(absltest.TestCase):
    def test_checkpoints_hold_every_weight_of_a_model(self):
        # Keras 3 hides layers kept in lists from tf.train.Checkpoint: without the explicit list of
        # weights, a PreResNet's BatchNorm statistics would not come back on resume.
        model = build_model("preresnet20", 10, (32, 32, 3))
        directory = self.create_tempdir().full_path
        saved = checkpoints.Checkpoints(directory, model=model)
        saved.save(1)
        expected = [np.asarray(w).copy() for w in model.weights]
        for w in model.weights:
            w.assign(np.full(w.shape, 3.0, w.dtype))
        self.assertEqual(checkpoints.Checkpoints(directory, model=model).restore(), 1)
        for w, value in zip(model.weights, expected):
            np.testing.assert_array_equal(np.asarray(w), value, err_msg=w.path)

    def test_a_truncated_latest_checkpoint_falls_back_to_the_previous(self):
        directory = self.create_tempdir().full_path
        value = tf.Variable(0.0)
        saved = checkpoints.Checkpoints(directory, value=value)
        for step in (1, 2):
            value.assign(float(step))
            saved.save(step)
        data = tf.io.gfile.glob(os.path.join(directory, "ckpt-2.data-*"))[0]
        with open(data, "r+b") as f:
            f.truncate(2)
        value.assign(-1.0)
        with self.assertLogs(logging.get_absl_logger(), "WARNING") as logs:
            self.assertEqual(checkpoints.Checkpoints(directory, value=value).restore(), 1)
        self.assertEqual(float(value.numpy()), 1.0)
        self.assertIn("ckpt-2 is damaged", "\n".join(logs.output))

    def test_corrupt_manifest_and_truncated_member_are_one_line_errors(self):
        root = self.create_tempdir().full_path
        teacher_dir = os.path.join(root, "teachers")
        proc, _ = binaries.run("train_teachers", "--num_teachers=1", "--epochs=1", "--train_size=400",
                               f"--teacher_dir={teacher_dir}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        manifest_text = _read(os.path.join(teacher_dir, "manifest.json"))
        member = os.path.join(teacher_dir, "member_0.keras")
        member_bytes = _read(member, "rb")
        run_dir = os.path.join(root, "run")
        flags = ["--num_teachers=1", "--epochs=1", f"--teacher_dir={teacher_dir}", f"--output_dir={run_dir}"]

        with open(os.path.join(teacher_dir, "manifest.json"), "w") as f:
            f.write(manifest_text[:len(manifest_text) // 2])
        proc, _ = binaries.run("distill", *flags)
        self.assertEqual(proc.returncode, 2, proc.stderr[-3000:])
        self.assertNotIn("Traceback", proc.stderr)
        self.assertRegex(proc.stderr, r"manifest\.json is damaged .*train_teachers -- --teacher_dir=")
        self.assertFalse(os.path.exists(run_dir))

        with open(os.path.join(teacher_dir, "manifest.json"), "w") as f:
            f.write(manifest_text)
        with open(member, "wb") as f:
            f.write(member_bytes[:len(member_bytes) // 3])
        proc, _ = binaries.run("distill", *flags)
        self.assertEqual(proc.returncode, 2, proc.stderr[-3000:])
        self.assertNotIn("Traceback", proc.stderr)
        self.assertRegex(proc.stderr, r"Teacher member 0 \(.*member_0\.keras\) does not load .*delete it and run "
                                      r"bazel run //experiments:train_teachers")
        self.assertFalse(os.path.exists(run_dir))

        # As the message says: delete it and train again; the member comes back with its own seed.
        os.remove(member)
        proc, _ = binaries.run("train_teachers", "--num_teachers=1", f"--teacher_dir={teacher_dir}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn("its file was missing", proc.stderr)
        manifest = json.loads(_read(os.path.join(teacher_dir, "manifest.json")))
        self.assertEqual([m["seed"] for m in manifest["members"]], [0])
        keras.saving.load_model(member)  # whole again


if __name__ == "__main__":
    absltest.main()
