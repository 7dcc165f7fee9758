"""Every study of the paper through its whole pipeline, at a smoke scale
thinner than --scale=smoke (every kind of run, but one or two values of each
axis: Scale.axis; one epoch; one trial but where a study needs two):
its runs, results.csv and summary.csv checked against the runs' own
results.json, non-empty figures, a report that says it is smoke-scale, and a
second run that trains nothing. Sharded: Bazel runs shards side by side."""

import dataclasses
import json
import math
import os
from unittest import mock

import pandas as pd
from absl.testing import absltest, parameterized

from kd_tf.config.paths import resolve_path
from kd_tf.config.runtime import Runtime
from kd_tf.config.study import StudyConfig, StudyExecution
from kd_tf.studies import claims, definitions, run
from kd_tf.studies.scale import SMOKE

TEST_SCALE = dataclasses.replace(
    SMOKE, thin=True, student_epochs=1, teacher_epochs=2,
    gan=(("gen_steps", 4), ("checkpoint_every", 2), ("gen_width", 8), ("disc_width", 8), ("batch_size", 16),
         ("disc_steps_per_gen_step", 1), ("fid_samples", 20)))
# Two trials where a study must show it averages over them (ensemble_size) or
# pairs them (policies: its independent student); one elsewhere, to keep the suite short.
TWO_TRIALS = {"ensemble_size", "policies"}


def _scale(name):
    return TEST_SCALE if name in TWO_TRIALS else dataclasses.replace(TEST_SCALE, trials=1)


def _expected(row):
    """The value results.csv should hold for a row, read from the run's own files."""
    directory = resolve_path(row["run"])
    if row["kind"] == "distill":
        with open(os.path.join(directory, "results.json")) as f:
            results = json.load(f)
        if row["split"] == "distillation_batches":
            return {("distillation_loss" if k == "loss" else k): v for k, v in results["online"].items()}
        return results[row["model"]][row["split"]]
    if row["kind"] == "evaluate":
        (output,) = [f for f in os.listdir(directory) if f.endswith(".json")]
        with open(os.path.join(directory, output)) as f:
            rows = json.load(f)
        return next(r for r in rows if r["model"] == "reference_student" and r["split"] == row["split"])
    with open(os.path.join(directory, "results.json")) as f:
        return json.load(f)


class StudyTest(parameterized.TestCase):
    def _run(self, name, root, parallel=1):
        return run.run(StudyConfig(study=name, scale="smoke"), StudyExecution(runs_dir=root, parallel=parallel),
                       Runtime(), scale=_scale(name))

    @parameterized.parameters(*definitions.STUDIES)
    def test_the_whole_pipeline(self, name):
        root = self.create_tempdir().full_path
        parallel = 2 if name == "policies" else 1  # the worker pool, once
        result = self._run(name, root, parallel)
        self.assertEqual([(o.run.directory, o.error, o.log) for o in result.failed], [])
        study = definitions.build(name, _scale(name), root)
        directories = {r.directory for r in study.runs}  # points of a study may share a run
        self.assertLen(result.outcomes, len(directories))
        self.assertLen(result.trained, len(directories))

        # The CSVs hold exactly what the runs wrote.
        results = pd.read_csv(os.path.join(result.output_dir, "results.csv"))
        summary = pd.read_csv(os.path.join(result.output_dir, "summary.csv"))
        self.assertFalse(results.empty)
        metrics = [m for m in ("accuracy", "nll", "ece", "agreement", "kl", "distillation_loss", "fid_pool", "d_loss", "cka_1",
                                "cka_2", "cka_3", "cka_reference_1") if m in results]
        for _, row in results.iterrows():
            expected = _expected(row)
            for metric in metrics:
                if metric in expected and not (isinstance(row[metric], float) and math.isnan(row[metric])):
                    self.assertAlmostEqual(row[metric], expected[metric], places=4, msg=f"{row['run']} {metric}")
        for _, row in summary.iterrows():
            members = results[results["run"].isin(row["runs"].split(";"))
                              & (results["model"] == row["model"]) & (results["split"] == row["split"])]
            for axis in study.axes:  # a run two points share has a row for each point
                if axis in summary:
                    members = members[members[axis].isna()] if pd.isna(row[axis]) else \
                        members[members[axis] == row[axis]]
            self.assertLen(members, row["trials"])
            for metric in metrics:
                if f"{metric}_mean" in row and not math.isnan(row[f"{metric}_mean"]):
                    self.assertAlmostEqual(row[f"{metric}_mean"], members[metric].mean(), places=4)
        distilled = results[results["kind"] == "distill"]
        if not distilled.empty:
            self.assertEqual(set(distilled["trial"]), set(range(_scale(name).trials)))
            for axis in study.axes:
                if axis in distilled:
                    self.assertGreaterEqual(distilled[axis].nunique(), 1, axis)

        # Figures and the report.
        for figure in study.figures:
            png = os.path.join(result.output_dir, "figures", f"{figure.name}.png")
            self.assertTrue(os.path.exists(png), png)
            self.assertGreater(os.path.getsize(png), 5000, png)
            self.assertTrue(os.path.exists(png[:-4] + ".svg"))
        with open(result.report) as f:
            report = f.read()
        self.assertIn("smoke-scale run", report)
        self.assertIn(f"--study={name} --scale=smoke", report)
        for figure in study.figures:
            self.assertIn(f"figures/{figure.name}.png", report)
        # The claims table, with a verdict for each of the study's claims (judged on noise here).
        for verdict in result.verdicts:
            self.assertIn(verdict.claim.statement, report)
            self.assertIn(verdict.verdict, (claims.HOLDS, claims.FAILS, claims.INCONCLUSIVE, claims.NO_DATA))
        self.assertLen(result.verdicts, len(claims.for_study(name)))
        if result.verdicts:
            self.assertIn("## Claims", report)

        # Twice: nothing is trained again, and the report is rewritten from the runs.
        again = self._run(name, root)
        self.assertEqual(again.trained, [])
        self.assertTrue(all(o.status == "finished" for o in again.outcomes.values()))
        pd.testing.assert_frame_equal(pd.read_csv(os.path.join(again.output_dir, "results.csv")), results)


class FindingsTest(absltest.TestCase):
    def test_findings_runs_each_study_with_claims_and_gathers_its_verdicts(self):
        # Two studies' claims stand in for all of them (each study has its own whole-pipeline test above).
        subset = tuple(c for c in claims.CLAIMS if c.study in ("mnist_emnist", "subsampled"))
        self.enter_context(mock.patch.object(claims, "CLAIMS", subset))
        root = self.create_tempdir().full_path
        scale = dataclasses.replace(TEST_SCALE, trials=1)
        result = run.run(StudyConfig(study="findings", scale="smoke"), StudyExecution(runs_dir=root), Runtime(),
                         scale=scale)
        self.assertEqual(result.failed, [])
        self.assertLen(result.verdicts, len(subset))
        self.assertEqual(os.path.basename(result.report), "findings.md")
        with open(result.report) as f:
            findings = f.read()
        for claim in subset:
            self.assertIn(claim.statement, findings)
        for name in ("mnist_emnist", "subsampled"):  # each study's own report, linked
            self.assertTrue(os.path.exists(os.path.join(root, "studies", f"{name}-smoke", "report.md")))
            self.assertIn(f"[{name}](../{name}-smoke/report.md)", findings)
        self.assertIn("--study=findings --scale=smoke", findings)


if __name__ == "__main__":
    absltest.main()
