"""A distillation on a 2-worker cluster (experiments/local_cluster, 127.0.0.1
only): the same final metrics as one process with the same global batch,
one set of outputs written by the chief alone, and a lost worker (SIGKILL) or
a stopped one (SIGTERM) costs nothing once the same command runs again.

Tolerance, measured on the 2-core development machine (mnist5k, one LeNet-5
teacher at 95.4%, 5 epochs of batch 64, lr 0.01, --aug=baseline): one
process 95.9% accuracy, 96.6% agreement, KL 0.081; 2 workers 95.4%, 96.3%,
KL 0.092; the killed and the stopped 2-worker runs, resumed, gave the
uninterrupted 2-worker figures exactly. With another teacher, one process at
1 and at 2 intra-op threads differed by 1.4 points of accuracy. Float sums
reorder across workers as they do across threads, so the test allows 2.5
points of accuracy and agreement and 25% of KL. lr 0.01 rather than the
default 0.05 because at 0.05 rounding grows ~1.7x per step and end metrics
spread over seeds by several points in one process alone (docs/distributed.md); that
two workers take the same steps as one process is checked step by step, at
the default recipe, in tests/step_equality_test.py."""

import os
import re
import signal
import subprocess
import tempfile
import time

from absl.testing import absltest

from kd_tf.train import storage
from tests import binaries

STEPS = 62  # 4000 rows / batch 64
POINTS, KL_RATIO = 2.5, 0.25


def _recorded(run_dir, step_test):
    try:
        with open(os.path.join(run_dir, "checkpoints", "checkpoint")) as f:
            steps = [int(s) for s in re.findall(r'all_model_checkpoint_paths: "ckpt-(\d+)"', f.read())]
    except FileNotFoundError:
        return False
    return any(step_test(s) for s in steps)


def _left_by_kd_tf(tmp):
    """What a job left in its temporary directory, but TensorFlow's autograph
    modules (left behind at times) and their bytecode in __pycache__."""
    def autograph(name):
        return name.startswith("__autograph_generated_file")
    left = []
    for name in sorted(os.listdir(tmp)):
        if name == "__pycache__":
            left += [f"__pycache__/{n}" for n in sorted(os.listdir(os.path.join(tmp, name))) if not autograph(n)]
        elif not autograph(name):
            left.append(name)
    return left


class MultiWorkerDistillTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())  # fresh, also outside Bazel
        cls.teacher_dir = os.path.join(cls.root, "teachers")
        proc, _ = binaries.run("train_teachers", "--num_teachers=1", f"--teacher_dir={cls.teacher_dir}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        cls.single = os.path.join(cls.root, "single")
        proc, _ = binaries.run("distill", *cls.flags(cls.single))
        assert proc.returncode == 0, proc.stderr[-3000:]
        cls.cluster = os.path.join(cls.root, "cluster")
        # The workers get a temporary directory of their own: /tmp is shared with tests running alongside.
        cls.worker_tmp = tempfile.mkdtemp(dir=cls.root)
        proc, _ = cls.run_cluster(cls.cluster, TMPDIR=cls.worker_tmp)
        assert proc.returncode == 0, proc.stdout[-5000:]
        cls.cluster_log = proc.stdout
        cls.left_in_tmp = _left_by_kd_tf(cls.worker_tmp)

    @classmethod
    def flags(cls, output_dir):
        return ["--aug=baseline", "--num_teachers=1", "--epochs=5", "--batch_size=64", "--lr=0.01",
                f"--teacher_dir={cls.teacher_dir}", f"--output_dir={output_dir}"]

    @classmethod
    def cluster_command(cls, output_dir):
        return binaries.command("local_cluster") + ["--workers=2", "--timeout_s=800", "--",
                                                    "//experiments:distill", *cls.flags(output_dir)]

    @classmethod
    def run_cluster(cls, output_dir, **env):
        start = time.time()
        proc = subprocess.run(cls.cluster_command(output_dir), capture_output=True, text=True, timeout=900,
                              cwd=binaries.REPO_ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
        return proc, time.time() - start

    def _interrupt(self, output_dir, sig, when):
        """Starts the cluster; once a checkpoint satisfies `when`, sends `sig` to worker 1."""
        log_path = os.path.join(self.root, f"{os.path.basename(output_dir)}.log")
        with open(log_path, "w") as log:
            cluster = subprocess.Popen(self.cluster_command(output_dir), stdout=log, stderr=subprocess.STDOUT,
                                       cwd=binaries.REPO_ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
            deadline = time.time() + 600
            while not _recorded(output_dir, when) and cluster.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            with open(log_path) as f:
                pid = int(re.search(r"worker 1 is pid (\d+)", f.read()).group(1))
            os.kill(pid, sig)
            status = cluster.wait(timeout=300)
        with open(log_path) as f:
            return status, f.read()

    def assert_same_metrics(self, a_dir, b_dir):
        a = storage.read_json(os.path.join(a_dir, "results.json"))["student"]["test"]
        b = storage.read_json(os.path.join(b_dir, "results.json"))["student"]["test"]
        for name in ("accuracy", "agreement"):
            self.assertLessEqual(abs(a[name] - b[name]), POINTS, f"{name}: {a[name]} against {b[name]}")
        self.assertLessEqual(abs(a["kl"] - b["kl"]), KL_RATIO * a["kl"], f"kl: {a['kl']} against {b['kl']}")

    def test_two_workers_give_the_one_process_metrics(self):
        results = storage.read_json(os.path.join(self.single, "results.json"))
        self.assertGreater(results["teacher"]["test"]["accuracy"], 90)  # a comparison worth making
        self.assertGreater(results["student"]["test"]["agreement"], 85)
        self.assert_same_metrics(self.single, self.cluster)
        self.assertIn("[worker 1] done (a non-chief worker", self.cluster_log)
        self.assertIn("[worker 0] test agreement", self.cluster_log)

    def test_the_chief_alone_writes_one_set_of_outputs(self):
        self.assertEqual(sorted(os.listdir(self.cluster)), sorted(os.listdir(self.single)))
        events = [f for d in ("train", "test") for f in os.listdir(os.path.join(self.cluster, "tensorboard", d))]
        writers = {name.split(".")[-3] for name in events}  # events.out.tfevents.<time>.<host>.<pid>.<n>.v2
        self.assertLen(writers, 1, events)
        with open(os.path.join(self.cluster, "metrics.csv")) as f:
            self.assertEqual([line.split(",")[0] for line in f.read().split()[1:]], ["0", "1", "2", "3", "4"])
        checkpoint_dir = os.path.join(self.cluster, "checkpoints")
        self.assertEqual(sorted(n for n in os.listdir(checkpoint_dir) if n.endswith(".index")),
                         ["ckpt-248.index", "ckpt-310.index"])  # the chief's, and nothing of worker 1
        self.assertEqual(self.left_in_tmp, [], "a worker left files in the temporary directory")

    def test_a_worker_killed_then_rerun_resumes(self):
        resumed = os.path.join(self.root, "killed")
        status, log = self._interrupt(resumed, signal.SIGKILL, lambda step: step >= 2 * STEPS)
        self.assertNotEqual(status, 0, log[-3000:])
        self.assertIn("worker 1 exited with status -9", log)
        self.assertFalse(os.path.exists(os.path.join(resumed, "results.json")), "the run finished before the kill")
        proc, _ = self.run_cluster(resumed)
        self.assertEqual(proc.returncode, 0, proc.stdout[-5000:])
        self.assertRegex(proc.stdout, r"\[worker 0\] .*Resuming .* at epoch [345], step 0 of 62")
        self.assert_same_metrics(self.cluster, resumed)

    def test_a_worker_stopped_by_sigterm_saves_its_step_and_resumes(self):
        resumed = os.path.join(self.root, "stopped")
        status, log = self._interrupt(resumed, signal.SIGTERM, lambda step: step >= STEPS)
        self.assertEqual(status, 42, log[-5000:])
        self.assertRegex(log, r"\[worker 1\] .*Stopped by SIGTERM")
        saved = re.search(r"\[worker 0\] .*Checkpoint of global step (\d+) .* saved", log)
        self.assertIsNotNone(saved, log[-5000:])
        step = int(saved.group(1))
        self.assertTrue(_recorded(resumed, lambda s: s == step))
        proc, _ = self.run_cluster(resumed)
        self.assertEqual(proc.returncode, 0, proc.stdout[-5000:])
        self.assertRegex(proc.stdout, rf"\[worker 1\] .*Resuming .* \(global step {step}\)")
        self.assert_same_metrics(self.cluster, resumed)


if __name__ == "__main__":
    absltest.main()
