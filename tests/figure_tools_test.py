"""The two figure tools of runs the reference repository cannot regenerate:
teachers' predictive distributions (appendix Fig 8) and the loss plane of an
interpolation run (Fig 6c), through their binaries."""

import os

import numpy as np
from absl.testing import absltest

from tests.binaries import run


class FigureToolsTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = absltest.get_default_test_tmpdir()
        cls.teachers = os.path.join(cls.root, "teachers")
        proc, _ = run("train_teachers", "--num_teachers=2", "--epochs=2", f"--teacher_dir={cls.teachers}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        cls.interpolated = os.path.join(cls.root, "interpolated")
        proc, _ = run("distill", "--num_teachers=1", "--epochs=1", "--aug=baseline", "--init=interpolate",
                      "--init_lambda=0.5", f"--teacher_dir={cls.teachers}", f"--output_dir={cls.interpolated}")
        assert proc.returncode == 0, proc.stderr[-3000:]

    def test_teacher_distributions(self):
        output = os.path.join(self.root, "fig8")
        proc, _ = run("teacher_distributions", f"--teacher_dirs={self.teachers}", "--sizes=1,2", "--examples=3",
                      f"--output={output}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertGreater(os.path.getsize(output + ".png"), 5000)
        data = np.load(output + ".npz")
        for m in (1, 2):
            for split in ("train", "train_tau4", "test"):
                probabilities = data[f"teachers_m{m}_{split}"]
                self.assertEqual(probabilities.shape, (3, 10))
                np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-6)
            # Tempering flattens the distribution: the top class loses mass.
            self.assertTrue(np.all(data[f"teachers_m{m}_train_tau4"].max(-1) < data[f"teachers_m{m}_train"].max(-1)))

    def test_teacher_distributions_refuses_more_members_than_there_are(self):
        proc, _ = run("teacher_distributions", f"--teacher_dirs={self.teachers}", "--sizes=1,5",
                      f"--output={self.root}/too_many")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("holds 2 members; --sizes asks for 5", proc.stderr)

    def test_loss_plane(self):
        output = os.path.join(self.root, "plane")
        proc, _ = run("loss_plane", f"--run_dir={self.interpolated}", "--grid=4", "--examples=200",
                      f"--output={output}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertGreater(os.path.getsize(output + ".png"), 5000)
        data = np.load(output + ".npz")
        self.assertEqual(data["train_loss"].shape, (4, 4))
        self.assertTrue(np.all(np.isfinite(data["train_loss"])))
        self.assertTrue(np.all((data["test_agreement"] >= 0) & (data["test_agreement"] <= 100)))
        np.testing.assert_allclose(data["initial_coordinates"], [0.0, 0.0], atol=1e-6)  # the origin
        self.assertAlmostEqual(float(data["teacher_coordinates"][1]), 0.0, places=5)  # on the first axis
        self.assertGreater(float(data["teacher_coordinates"][0]), 0.0)

    def test_loss_plane_needs_a_finished_run(self):
        proc, _ = run("loss_plane", f"--run_dir={self.root}/nothing_here", f"--output={self.root}/x")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("is not a finished run", proc.stderr)


if __name__ == "__main__":
    absltest.main()
