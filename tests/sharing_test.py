"""The plan's teacher sharing (issue 27): which students could share one
teacher pass, the member forwards per batch and the GPU-hours with and
without sharing. Free of TensorFlow, as planning is."""

import dataclasses

from absl.testing import absltest

from kd_tf.config.distill import DistillConfig
from kd_tf.studies import definitions, plan, sharing
from kd_tf.studies.scale import PAPER
from kd_tf.studies.spec import Run


def _run(**fields):
    config = DistillConfig(**{"teacher_dir": "pool", "teacher_arch": "lenet5", **fields}).resolved()
    return Run("distill", config, config.run_name())


class PoliciesAtPaperScaleTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.study = definitions.build("policies", PAPER, "runs")
        cls.groups = sharing.groups(cls.study.runs, 6)

    def test_one_pass_per_policy_and_trial(self):
        distill = [r for r in self.study.runs if r.kind == "distill"]
        self.assertLen(self.groups, 10 * 3)  # policies x trials
        self.assertEqual(sorted(r.directory for g in self.groups for r in g.runs),
                         sorted(r.directory for r in distill))
        for group in self.groups:
            labels = [r.label_dict for r in group.runs]
            self.assertLen({(d["policy"], d["trial"]) for d in labels}, 1)
            self.assertEqual(sorted((d["m"], d["tau"]) for d in labels),
                             [(m, tau) for m in (1, 3, 5) for tau in (1.0, 4.0)])

    def test_member_forwards(self):
        # Trial k takes members k*m .. k*m+m-1 (the reference's trial_id): 18 -> 5 for trial 0 only.
        by_trial = {g.runs[0].label_dict["trial"]: g.forwards for g in self.groups}
        self.assertEqual(by_trial, {0: (18, 5), 1: (18, 8), 2: (18, 9)})
        self.assertEqual(sharing.member_forwards([(0,), (0, 1, 2), (0, 1, 2, 3, 4)] * 2), (18, 5))

    def test_shared_hours_count_each_member_once(self):
        alone = sum(plan.gpu_hours(r) for g in self.groups for r in g.runs)
        shared = sum(sharing.gpu_hours(g) for g in self.groups)
        self.assertLess(shared, alone)
        # A group of one costs what its single run does.
        single = sharing.groups(self.study.runs, 1)
        self.assertTrue(all(len(g.runs) == 1 for g in single))
        self.assertAlmostEqual(sum(sharing.gpu_hours(g) for g in single), alone, places=6)

    def test_the_executor_runs_each_group_as_one_job(self):
        finished = {r.directory: False for r in self.study.runs}
        runs, students = sharing.grouped_runs(self.study.runs, 6, finished)
        groups = [r for r in runs if r.kind == "distill_group"]
        self.assertLen(groups, 30)
        self.assertEqual([r.kind for r in runs if r.kind == "distill"], [])
        for group in groups:
            self.assertEqual(group.config.directories, tuple(r.directory for r in students[group.directory]))
            self.assertEqual(group.config.configs, tuple(r.config for r in students[group.directory]))
        # Every student is in exactly one group; what needed a student needs its group, which needs the teachers.
        grouped = [d for g in groups for d in g.config.directories]
        self.assertCountEqual(grouped, [r.directory for r in self.study.runs if r.kind == "distill"])
        directories = {r.directory for r in runs}
        for run in runs:
            self.assertTrue(set(run.needs) <= directories, run.directory)
        evaluations = [r for r in runs if r.kind == "evaluate"]
        self.assertTrue(evaluations and all(any(d in students for d in r.needs) for r in evaluations))
        # A finished student is left out of its group; --group_students=1 groups nothing.
        done = dict(finished, **{grouped[0]: True})
        runs, students = sharing.grouped_runs(self.study.runs, 6, done)
        self.assertNotIn(grouped[0], [d for g in students.values() for d in (r.directory for r in g)])
        self.assertIn(grouped[0], [r.directory for r in runs])
        self.assertEqual(sharing.grouped_runs(self.study.runs, 1, finished), (list(self.study.runs), {}))

    def test_a_run_two_points_share_is_one_student(self):
        runs = [_run(num_teachers=1, temperature=1.0), _run(num_teachers=3, temperature=4.0)]
        twice = [runs[0], dataclasses.replace(runs[0], labels=(("experiment", "other"),)), runs[1]]
        (group,) = sharing.groups(twice, 6, {"pool": 3})
        self.assertEqual([r.directory for r in group.runs], [r.directory for r in runs])
        grouped, students = sharing.grouped_runs(twice, 6, {r.directory: False for r in twice})
        (job,) = grouped
        self.assertEqual(job.config.directories, tuple(r.directory for r in runs))

    def test_the_dry_run_prints_both_estimates(self):
        finished = {r.directory: False for r in self.study.runs}
        text = plan.plan_text(self.study, finished, 6)
        self.assertRegex(text, r"member forwards per batch 540 as single runs, 220 shared; distillation about "
                               r"[\d,]+ GPU-hours alone, [\d,]+ shared")
        self.assertIn("group 0: 6 students, member forwards 18 -> 5", text)
        self.assertIn("member forwards per batch 540 as single runs, 540 shared", plan.plan_text(self.study, finished, 1))


class GroupingRulesTest(absltest.TestCase):
    def test_students_differing_in_m_tau_alpha_loss_share(self):
        runs = [_run(num_teachers=m, temperature=tau, alpha=alpha, loss=loss)
                for m, tau, alpha, loss in ((1, 1.0, 0.0, "fwd_ce"), (3, 4.0, 0.5, "kl"), (2, 2.0, 0.0, "sym_kl"))]
        (group,) = sharing.groups(runs, 6)
        self.assertEqual(group.members, ((0,), (0, 1, 2), (0, 1)))

    def test_anything_else_runs_apart(self):
        base = dict(num_teachers=2, temperature=4.0)
        for other in (dict(seed=1), dict(aug="baseline"), dict(student_arch="preresnet20"), dict(epochs=7),
                      dict(teacher_dir="other_pool"), dict(lr=0.01)):
            with self.subTest(other=other):
                self.assertLen(sharing.groups([_run(**base), _run(**{**base, **other})], 6), 2)

    def test_rows_at_their_own_temperature_or_non_soft_losses_never_share(self):
        for fields in (dict(distill_splits="d0,d1", split_temperatures="1,4"),
                       dict(aug="gan", generator="g.keras", synth_temperature=1.0),
                       dict(aug="gan", generator="g.keras", gan_sampling="device"), dict(loss="hard"),
                       dict(loss="avg_sym_kl")):
            with self.subTest(fields=fields):
                runs = [_run(num_teachers=m, **fields) for m in (1, 2)]
                self.assertIsNotNone(sharing.why_not_grouped(runs[0].config))
                self.assertLen(sharing.groups(runs, 6), 2)
        # The gan policy's default: synthetic rows at the student's own temperature, which a group keeps.
        self.assertLen(sharing.groups([_run(num_teachers=m, aug="gan", generator="g.keras") for m in (1, 2)], 6), 1)

    def test_group_size_is_capped(self):
        runs = [_run(num_teachers=1, temperature=t) for t in (1.0, 2.0, 3.0, 4.0, 5.0)]
        self.assertEqual([len(g.runs) for g in sharing.groups(runs, 2)], [2, 2, 1])

    def test_members_wrap_around_a_fixed_pool(self):
        config = _run(num_teachers=3, teacher_pool=4, teacher_offset=3).config
        self.assertEqual(sharing.members_of(config, None), (3, 0, 1))
        self.assertEqual(sharing.members_of(dataclasses.replace(config, teacher_pool=None), 8), (3, 4, 5))


if __name__ == "__main__":
    absltest.main()
