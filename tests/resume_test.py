"""Runs survive interruption: a distillation killed with SIGKILL after some
epochs, then rerun with the same command, ends with the same student and
metrics as an uninterrupted run with the same seed. A non-finite loss stops
the run with a message and keeps the last good checkpoint."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import keras
import numpy as np
from absl.testing import absltest

import kd_tf  # noqa: F401  registers kd_tf's architectures with Keras, for loading
from tests import binaries

DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1"}


def _recorded(run_dir, step, checkpoints="checkpoints"):
    """Whether the checkpoint manager has recorded the checkpoint of `step`
    (its files alone may still be half-written)."""
    try:
        with open(os.path.join(run_dir, checkpoints, "checkpoint")) as f:
            return f'ckpt-{step}"' in f.read()
    except FileNotFoundError:
        return False


def _start_and_kill_at(flags, run_dir, step, poll=0.02):
    """Starts distill with `flags`, SIGKILLs it once the checkpoint of `step` is recorded."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **DETERMINISTIC}
    victim = subprocess.Popen(binaries.command("distill") + flags, cwd=binaries.REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not _recorded(run_dir, step) and victim.poll() is None and time.time() < deadline:
        time.sleep(poll)
    victim.send_signal(signal.SIGKILL)
    victim.wait()


class ResumeTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())  # fresh, also outside Bazel
        cls.teacher_dir = os.path.join(cls.root, "teachers")
        proc, _ = binaries.run("train_teachers", "--num_teachers=1", "--epochs=3", "--train_size=400",
                               f"--teacher_dir={cls.teacher_dir}")
        assert proc.returncode == 0, proc.stderr[-3000:]

    def flags(self, output_dir):
        return ["--aug=mixup", "--num_teachers=1", "--epochs=8", "--batch_size=32", f"--teacher_dir={self.teacher_dir}",
                f"--output_dir={output_dir}"]

    def test_killed_and_resumed_equals_uninterrupted(self):
        straight = os.path.join(self.root, "straight")
        proc, _ = binaries.run("distill", *self.flags(straight), env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])

        resumed = os.path.join(self.root, "resumed")
        _start_and_kill_at(self.flags(resumed), resumed, 250, poll=0.05)
        self.assertTrue(_recorded(resumed, 250), "the run never reached its second checkpoint (step 250)")
        self.assertFalse(os.path.exists(os.path.join(resumed, "results.json")), "the run finished before the kill")

        proc, _ = binaries.run("distill", *self.flags(resumed), env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn("Resuming", proc.stderr)

        a = keras.saving.load_model(os.path.join(straight, "student.keras"))
        b = keras.saving.load_model(os.path.join(resumed, "student.keras"))
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)
        with open(os.path.join(straight, "results.json")) as f:
            ra = json.load(f)
        with open(os.path.join(resumed, "results.json")) as f:
            rb = json.load(f)
        for model in ("teacher", "student"):
            for split, metrics in ra[model].items():
                for name, value in metrics.items():
                    self.assertAlmostEqual(rb[model][split][name], value, places=3, msg=f"{model} {split} {name}")
        with open(os.path.join(resumed, "metrics.csv")) as f:
            epochs = [line.split(",")[0] for line in f.read().strip().splitlines()[1:]]
        self.assertEqual(epochs, [str(e) for e in range(8)])  # every epoch once, in order

    def test_metrics_of_redone_epochs_are_not_duplicated(self):
        from kd_tf.train.callbacks.metrics_csv import MetricsCsv

        path = os.path.join(self.create_tempdir().full_path, "metrics.csv")
        with open(path, "w") as f:
            f.write("epoch,loss\n0,3.0\n1,2.0\n2,1.5\n")
        logger = MetricsCsv(path, first_epoch=2)  # resuming at epoch 2: its row is redone
        logger.on_train_begin()
        logger.on_epoch_end(2, {"loss": 1.25})
        with open(path) as f:
            self.assertEqual(f.read().split(), ["epoch,loss", "0,3.0", "1,2.0", "2,1.25"])

    def test_sigterm_saves_the_step_reached_and_resumes_exactly(self):
        straight = os.path.join(self.root, "straight")  # written by the test above when it ran first
        if not os.path.exists(os.path.join(straight, "results.json")):
            proc, _ = binaries.run("distill", *self.flags(straight), env=DETERMINISTIC)
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        stopped = os.path.join(self.root, "stopped")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **DETERMINISTIC}
        victim = subprocess.Popen(binaries.command("distill") + self.flags(stopped), cwd=binaries.REPO_ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 300
        while not _recorded(stopped, 125) and victim.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        victim.send_signal(signal.SIGTERM)
        _, stderr = victim.communicate(timeout=120)
        self.assertEqual(victim.returncode, 42, stderr[-3000:])
        saved = int(re.search(r"Checkpoint of global step (\d+)", stderr).group(1))
        self.assertGreater(saved, 125)
        self.assertTrue(_recorded(stopped, saved))  # the step it stopped at, not the last epoch's
        proc, _ = binaries.run("distill", *self.flags(stopped), env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn(f"(global step {saved})", proc.stderr)
        a = keras.saving.load_model(os.path.join(straight, "student.keras"))
        b = keras.saving.load_model(os.path.join(stopped, "student.keras"))
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)

    TEACHER_FLAGS = ["--num_teachers=1", "--epochs=8", "--train_size=400"]  # 6 steps an epoch

    def _straight_teacher(self):
        straight = os.path.join(self.root, "teachers_straight")
        if not os.path.exists(os.path.join(straight, "manifest.json")):
            proc, _ = binaries.run("train_teachers", *self.TEACHER_FLAGS, f"--teacher_dir={straight}",
                                   env=DETERMINISTIC)
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        return keras.saving.load_model(os.path.join(straight, "member_0.keras"))

    def _interrupted_teacher(self, name, sig, at_step):
        """train_teachers, sent `sig` once its member's checkpoint of `at_step` is recorded; returns
        (its directory, exit status, stderr)."""
        teacher_dir = os.path.join(self.root, name)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **DETERMINISTIC}
        victim = subprocess.Popen(binaries.command("train_teachers") + self.TEACHER_FLAGS
                                  + [f"--teacher_dir={teacher_dir}"], cwd=binaries.REPO_ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 300
        while (not _recorded(teacher_dir, at_step, "member_0.checkpoints") and victim.poll() is None
               and time.time() < deadline):
            time.sleep(0.02)
        victim.send_signal(sig)
        _, stderr = victim.communicate(timeout=120)
        self.assertFalse(os.path.exists(os.path.join(teacher_dir, "manifest.json")), "it finished before the signal")
        return teacher_dir, victim.returncode, stderr

    def _assert_resumes_to(self, teacher_dir, expected, resumed_at):
        proc, _ = binaries.run("train_teachers", *self.TEACHER_FLAGS, f"--teacher_dir={teacher_dir}",
                               env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertRegex(proc.stderr, r"Resuming teacher 1/1 \(seed 0\) at " + resumed_at)
        self.assertFalse(os.path.exists(os.path.join(teacher_dir, "member_0.checkpoints")))
        resumed = keras.saving.load_model(os.path.join(teacher_dir, "member_0.keras"))
        for wa, wb in zip(expected.weights, resumed.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)

    def test_a_teacher_killed_mid_training_resumes_from_its_last_epoch(self):
        expected = self._straight_teacher()
        teacher_dir, _, _ = self._interrupted_teacher("teachers_killed", signal.SIGKILL, 3 * 6)
        self._assert_resumes_to(teacher_dir, expected, r"epoch [4-8], step 0 of 6")

    def test_a_teacher_stopped_by_sigterm_resumes_from_the_step_it_reached(self):
        expected = self._straight_teacher()
        teacher_dir, status, stderr = self._interrupted_teacher("teachers_stopped", signal.SIGTERM, 3 * 6)
        self.assertEqual(status, 42, stderr[-3000:])
        self.assertIn("Stopped by SIGTERM", stderr)
        self._assert_resumes_to(teacher_dir, expected, r"epoch [4-8], step [0-5] of 6")

    def test_killed_mid_epoch_and_resumed_equals_uninterrupted(self):
        straight = os.path.join(self.root, "straight_steps")
        flags = ["--checkpoint_every_steps=30"]
        proc, _ = binaries.run("distill", *self.flags(straight), *flags, env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        resumed = os.path.join(self.root, "resumed_steps")
        _start_and_kill_at(self.flags(resumed) + flags, resumed, 150)  # 125 steps per epoch: epoch 2, step 25
        self.assertFalse(os.path.exists(os.path.join(resumed, "results.json")), "the run finished before the kill")
        proc, _ = binaries.run("distill", *self.flags(resumed), *flags, env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertRegex(proc.stderr, r"Resuming .* at epoch 2, step (2[5-9]|[3-9]\d|1[01]\d) of 125")
        a = keras.saving.load_model(os.path.join(straight, "student.keras"))
        b = keras.saving.load_model(os.path.join(resumed, "student.keras"))
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)
        with open(os.path.join(resumed, "metrics.csv")) as f:
            self.assertLen(f.read().strip().splitlines(), 1 + 8)

    def test_steps_per_execution_with_step_checkpoints_resumes_exactly(self):
        # 4000 rows at batch 50: 80 steps per epoch, in executions of 4. Step
        # checkpoints every 30 steps land at the first execution end past each
        # multiple (32, 60, 92, ...); the killed run resumes there, and the result
        # equals an uninterrupted run with one step per execution.
        base = ["--aug=mixup", "--num_teachers=1", "--epochs=4", "--batch_size=50",
                f"--teacher_dir={self.teacher_dir}"]
        straight = os.path.join(self.root, "straight_spe1")
        proc, _ = binaries.run("distill", *base, f"--output_dir={straight}", env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        resumed = os.path.join(self.root, "resumed_spe4")
        flags = base + [f"--output_dir={resumed}", "--steps_per_execution=4", "--checkpoint_every_steps=30"]
        _start_and_kill_at(flags, resumed, 92, poll=0.01)
        self.assertTrue(_recorded(resumed, 92), "no step checkpoint at step 92 (the execution past step 90)")
        self.assertFalse(os.path.exists(os.path.join(resumed, "results.json")), "the run finished before the kill")
        proc, _ = binaries.run("distill", *flags, env=DETERMINISTIC)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn("4 step(s) per execution", proc.stderr)
        match = re.search(r"Resuming .* at epoch (\d), step (\d+) of 80", proc.stderr)
        self.assertIsNotNone(match, proc.stderr[-3000:])
        self.assertEqual(int(match.group(2)) % 4, 0)
        a = keras.saving.load_model(os.path.join(straight, "student.keras"))
        b = keras.saving.load_model(os.path.join(resumed, "student.keras"))
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-5, atol=1e-6)
        with open(os.path.join(resumed, "results.json")) as f:
            self.assertEqual(json.load(f)["runtime"]["steps_per_execution_used"], 4)

    def test_non_finite_loss_stops_with_a_message(self):
        output = os.path.join(self.root, "diverged")
        proc, _ = binaries.run("distill", "--aug=baseline", "--num_teachers=1", "--epochs=3", "--lr=1e12",
                               f"--teacher_dir={self.teacher_dir}", f"--output_dir={output}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("non-finite at epoch 1, step", proc.stderr)
        self.assertIn("last good checkpoint (none yet)", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(output, "results.json")))


if __name__ == "__main__":
    absltest.main()
