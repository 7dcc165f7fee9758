"""The local executor on failures: a run that fails is reported with its log,
the runs that need it are skipped, the others finish; and a run executed by a
study's worker equals the same run of the distill binary (no state carries
over between runs in a worker)."""

import dataclasses
import json
import os

from absl.testing import absltest

from kd_tf.config.distill import DistillConfig
from kd_tf.config.evaluate import EvaluateConfig
from kd_tf.config.teachers import TeacherConfig
from kd_tf.studies import executor
from kd_tf.studies.spec import Run
from tests import binaries


class ExecutorTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = absltest.get_default_test_tmpdir()
        teachers = TeacherConfig(epochs=2, num_teachers=1).resolved()
        cls.teacher_dir = os.path.join(cls.root, "teachers")
        cls.teachers = Run("teachers", dataclasses.replace(teachers, teacher_dir=cls.teacher_dir), cls.teacher_dir)

    def setUp(self):
        super().setUp()
        self.runs = self.create_tempdir().full_path  # this test's own students

    def _student(self, name, **fields):
        config = DistillConfig(teacher_dir=self.teacher_dir, num_teachers=1, epochs=1, aug="baseline",
                               **fields).resolved()
        return Run("distill", config, os.path.join(self.runs, name), needs=(self.teacher_dir,))

    def test_a_failure_is_reported_and_stops_only_what_needs_it(self):
        good = self._student("good")
        bad = Run("distill", dataclasses.replace(good.config, split_indices="/no/such/file.npy",
                                                 distill_splits="d0,d1"),
                  os.path.join(self.runs, "bad"), needs=(self.teacher_dir,))
        evaluation = EvaluateConfig(teacher_dir=self.teacher_dir,
                                    students=(os.path.join(bad.directory, "student.keras"),),
                                    output=os.path.join(self.runs, "after_bad", "evaluation"))
        after_bad = Run("evaluate", evaluation, os.path.join(self.runs, "after_bad"), needs=(bad.directory,))
        outcomes = executor.LocalExecutor(parallel=2).run([self.teachers, good, bad, after_bad])
        self.assertEqual(outcomes[good.directory].status, "done")
        self.assertEqual(outcomes[bad.directory].status, "failed")
        self.assertIn("--split_indices=/no/such/file.npy does not exist", outcomes[bad.directory].error)
        with open(outcomes[bad.directory].log) as f:
            self.assertIn("/no/such/file.npy", f.read())
        self.assertEqual(outcomes[after_bad.directory].status, "skipped")

    def test_a_worker_run_equals_the_binary(self):
        student = self._student("worker", seed=3)
        outcomes = executor.LocalExecutor(parallel=1).run([self.teachers, self._student("before"), student])
        self.assertEqual(outcomes[student.directory].status, "done")
        flags = [f"--{k}={v}" for k, v in dataclasses.asdict(student.config).items() if v is not None]
        proc, _ = binaries.run("distill", *flags, f"--output_dir={self.runs}/binary")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        with open(os.path.join(student.directory, "results.json")) as f:
            worker = json.load(f)
        with open(os.path.join(self.runs, "binary", "results.json")) as f:
            binary = json.load(f)
        self.assertEqual(worker["runtime"]["cpus"], binary["runtime"]["cpus"])
        for split in ("test", "train"):
            for metric in ("accuracy", "nll", "agreement", "kl"):
                self.assertEqual(worker["student"][split][metric], binary["student"][split][metric], (split, metric))


if __name__ == "__main__":
    absltest.main()
