"""bench_step runs end to end on a tiny workload and prints every figure it
promises (the speed figures themselves are the README's, not a test's)."""

import os
import re
import unittest

import numpy as np
from absl.testing import absltest

from kd_tf.bench.torch_reference import TORCH_MISSING, torch
from tests import binaries


class BenchStepTest(absltest.TestCase):
    @unittest.skipIf(torch is None, TORCH_MISSING)
    def test_prints_kd_tf_the_reference_the_parts_and_the_roofline(self):
        proc, _ = binaries.run("bench_step", "--arch=preresnet20", "--num_teachers=2", "--batch_size=16",
                               "--steps=2", "--repeats=2", "--teacher_precision=bf16", "--compare_reference",
                               "--rounds=2")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        out = proc.stdout
        for label in ("reference: distillation step (torch)", "kd_tf: distillation step (fit)",
                      "kd_tf: teachers' forward (bf16)", "kd_tf: student's step (fp32)",
                      "kd_tf: step, cached teacher logits (aug=none)",
                      "reference: distillation step (torch, bf16 autocast teachers)"):
            rate = re.search(re.escape(label) + r"\s+([\d.]+)\s+\[([\d.]+) \.\. ([\d.]+)\]", out)
            self.assertIsNotNone(rate, f"{label} missing from:\n{out}")
            median, low, high = map(float, rate.groups())
            self.assertTrue(0 < low <= median <= high, label)
        self.assertIn("the reference: torch 2.13", out)
        self.assertIn("threads, in its own process (without TensorFlow)", out)
        self.assertRegex(out, r"kd_tf: distillation step \(fit\)\s+[\d.]+\s+\[.*\]\s+[\d.]+x")
        flops = re.search(r"FLOPs per image: ([\d.]+) M per forward pass, ([\d.]+) M per step", out)
        self.assertAlmostEqual(float(flops.group(2)), float(flops.group(1)) * (2 + 3), delta=0.5)
        self.assertRegex(out, r"roofline [\d.]+ images/s; the step reaches \d+% of it")
        ceiling = re.search(r"this CPU's fp32 ceiling\): (\d+) GFLOP/s; the step runs at (\d+) GFLOP/s, (\d+)% of it",
                            out)
        self.assertIsNotNone(ceiling, out)
        peak, achieved, share = map(int, ceiling.groups())
        self.assertGreater(peak, 0)
        step = float(re.search(r"kd_tf: distillation step \(fit\)\s+([\d.]+)", out).group(1))
        self.assertAlmostEqual(achieved, step * float(flops.group(2)) / 1e3, delta=1)
        self.assertAlmostEqual(share, 100 * achieved / peak, delta=100 / peak + 1)
        wanted = re.search(r"1\.5x the reference \(([\d.]+) images/s\) would need (\d+) GFLOP/s", out)
        reference = float(re.search(r"reference: distillation step \(torch\)\s+([\d.]+)", out).group(1))
        self.assertAlmostEqual(float(wanted.group(1)), 1.5 * reference, delta=0.05 + 1.5 * 0.05 + 1e-6)  # .1f each
        self.assertAlmostEqual(int(wanted.group(2)), float(wanted.group(1)) * float(flops.group(2)) / 1e3, delta=1)
        rounds = re.findall(r"round (\d): kd_tf ([\d.]+), reference ([\d.]+) images/s, ([\d.]+)x", out)
        self.assertEqual([int(r[0]) for r in rounds], [1, 2], out)
        ratios = [float(r[3]) for r in rounds]
        for _, kd_tf, ref, ratio in rounds:  # each printed figure rounded: .1f rates, .2f ratios
            kd_tf, ref = float(kd_tf), float(ref)
            self.assertAlmostEqual(float(ratio), kd_tf / ref, delta=0.0051 + kd_tf / ref * (0.05 / kd_tf + 0.05 / ref))
        summary = re.search(r"over 2 paired rounds: median ([\d.]+)x \[([\d.]+) \.\. ([\d.]+)\]", out)
        self.assertIsNotNone(summary, out)
        median, low, high = map(float, summary.groups())
        self.assertEqual((low, high), (min(ratios), max(ratios)))
        self.assertAlmostEqual(median, sum(ratios) / 2, delta=0.0101)
        self.assertRegex(out, r"bf16 teachers against the same teachers in fp32 on the batch: top-1 agreement "
                              r"[\d.]+%, largest ensemble-logit difference [\d.]+")

    def test_a_group_of_students_against_their_single_runs(self):
        proc, _ = binaries.run("bench_step", "--arch=preresnet20", "--num_teachers=2", "--batch_size=8",
                               "--num_classes=10", "--steps=1", "--repeats=2", "--group_students=3")
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        out = proc.stdout
        # m = 1, 1, 2 (at most the pool of 2) at tau 1, 4, 1: members {0, 1} once each, against 1 + 1 + 2.
        self.assertIn("group of 3 students on a 2-member pool (m 1 tau 1, m 1 tau 4, m 2 tau 1): 2 teacher member "
                      "forwards per batch, 4 as single runs", out)
        labels = ["kd_tf: group of 3 students (fit)", "kd_tf: single run, m = 1, tau 1", "kd_tf: single run, m = 1, tau 4",
                  "kd_tf: single run, m = 2, tau 1"]
        medians = []
        for label in labels:
            rate = re.search(re.escape(label) + r"\s+([\d.]+)\s+\[([\d.]+) \.\. ([\d.]+)\]", out)
            self.assertIsNotNone(rate, f"{label} missing from:\n{out}")
            medians.append(float(rate.group(1)))
        per_student = float(re.search(r"single runs one after another, per student\s+([\d.]+)", out).group(1))
        self.assertAlmostEqual(per_student, 1 / sum(1 / m for m in medians[1:]), delta=0.06 + 0.02 * per_student)
        ratio = float(re.search(r"group against single runs, images/s per student: ([\d.]+)x", out).group(1))
        self.assertAlmostEqual(ratio, medians[0] / per_student, delta=0.01 + ratio * 0.05 * (1 / medians[0] +
                                                                                             1 / per_student))

    @unittest.skipIf(torch is None, TORCH_MISSING)
    def test_the_reference_process_times_its_step_and_reports_its_errors(self):
        from kd_tf.bench.reference_process import ReferenceProcess

        images = np.random.default_rng(0).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32)
        with ReferenceProcess(depth=20, num_teachers=1, num_classes=10, images_nchw=images, seed=0, temperature=4.0,
                              lr=0.1, weight_decay=1e-4, steps=2, repeats=3) as process:
            self.assertFalse(process.info()["tensorflow_imported"])
            for what in ("step", "teachers"):
                rates = process.rates(what)
                self.assertLen(rates, 3)
                self.assertTrue(all(rate > 0 for rate in rates), rates)
            with self.assertRaisesRegex(RuntimeError, "(?s)The reference's process failed:.*KeyError: 'bogus'"):
                process.rates("bogus")
            self.assertLen(process.rates("step"), 3)  # still serving after an error
        self.assertFalse(process._process.is_alive())

    def test_compare_reference_without_torch_is_a_clear_error(self):
        hidden = self.create_tempdir()  # a torch package that fails to import, ahead of any installed one
        hidden.create_file("torch/__init__.py", "raise ImportError('hidden by the test')\n")
        path = os.pathsep.join(p for p in (hidden.full_path, os.environ.get("PYTHONPATH")) if p)
        proc, _ = binaries.run("bench_step", "--compare_reference", env={"PYTHONPATH": path})
        self.assertEqual(proc.returncode, 2)
        self.assertIn("torch is not installed", proc.stderr)

    def test_rounds_without_the_reference_is_a_clear_error(self):
        proc, _ = binaries.run("bench_step", "--rounds=3")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--rounds times kd_tf against the reference: pass --compare_reference", proc.stderr)


if __name__ == "__main__":
    absltest.main()
