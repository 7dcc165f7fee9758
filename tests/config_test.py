"""Configs and the command line: per-dataset defaults from one table, flags
generated from the config dataclasses (so that no binary writes a default
again), run-time options apart from the experiment, and the one `cli.run`
every binary goes through. None of this loads TensorFlow."""

import ast
import dataclasses
import glob
import os
import re
import subprocess
import sys
import textwrap

from absl import flags
from absl.testing import absltest

from kd_tf import cli
from kd_tf.config import choices, datasets, recipes
from kd_tf.config.distill import DistillConfig
from kd_tf.config.evaluate import EvaluateConfig
from kd_tf.config.gan import GanConfig
from kd_tf.config.options import with_dataset_defaults
from kd_tf.config.runtime import Runtime
from kd_tf.config.teachers import TeacherConfig
from kd_tf.data import catalog

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = (DistillConfig, TeacherConfig, GanConfig, EvaluateConfig, Runtime)


class DatasetDefaultsTest(absltest.TestCase):
    def test_one_row_per_dataset(self):
        self.assertEqual(set(datasets.DEFAULTS), set(choices.DATASETS))
        self.assertEqual(set(datasets.DEFAULTS), set(catalog.PROPERTIES))

    def test_every_per_dataset_path_resolves_everywhere(self):
        for config in CONFIGS:
            for field in dataclasses.fields(config):
                path = field.metadata.get("per_dataset")
                if path:
                    for name in datasets.DEFAULTS:
                        datasets.lookup(name, path)  # raises on a bad path

    def test_resolved_distill_config_takes_the_table(self):
        mnist = DistillConfig().resolved()
        self.assertEqual((mnist.epochs, mnist.batch_size, mnist.lr, mnist.weight_decay),
                         (recipes.EMBEDDED_STUDENT.epochs, 128, 0.05, 1e-4))
        self.assertEqual((mnist.student_arch, mnist.teacher_arch), ("lenet5", "lenet5"))
        self.assertEqual((mnist.ood_dataset, mnist.ood_count), ("sample_photos", 1000))
        self.assertEqual(mnist.teacher_dir, os.path.join("runs", "teachers", "mnist5k-lenet5"))
        self.assertEqual(mnist.synth_temperature, mnist.temperature)
        cifar = DistillConfig(dataset="cifar100", distill_splits="d0,d1").resolved()
        self.assertEqual((cifar.epochs, cifar.student_arch, cifar.ood_count), (300, "preresnet56", 10_000))
        self.assertEqual(cifar.teacher_dir, os.path.join("runs", "teachers", "cifar100-preresnet56-d0"))
        imagenet = DistillConfig(dataset="imagenet2012").resolved()
        self.assertEqual(imagenet.student_recipe(), recipes.IMAGENET_STUDENT)

    def test_explicit_values_and_the_ensemble_win(self):
        config = DistillConfig(epochs=7, student_arch="preresnet20").resolved(ensemble_architecture="vgg16")
        self.assertEqual((config.epochs, config.student_arch, config.teacher_arch), (7, "preresnet20", "vgg16"))
        config = DistillConfig(teacher_arch="lenet5").resolved(ensemble_architecture="vgg16")
        self.assertEqual(config.teacher_arch, "lenet5")
        self.assertEqual(with_dataset_defaults(TeacherConfig(train_size=5), "mnist5k").train_size, 5)
        self.assertIsNone(TeacherConfig(dataset="cifar10").resolved().train_size)  # the whole split

    def test_a_trials_seed_selects_its_teachers(self):
        # The reference's trial k uses members k*m .. k*m+m-1; an explicit offset wins.
        self.assertEqual(DistillConfig(seed=2, num_teachers=3).resolved().teacher_offset, 6)
        self.assertEqual(DistillConfig(seed=2, num_teachers=3, teacher_offset=1).resolved().teacher_offset, 1)

    def test_each_optimizer_has_its_own_default_lr(self):
        self.assertEqual(DistillConfig(optimizer="sgd").resolved().lr, 0.05)
        self.assertEqual(DistillConfig(optimizer="adam").resolved().lr, recipes.ADAM_LR)
        self.assertEqual(DistillConfig(optimizer="adam", lr=0.01).resolved().lr, 0.01)

    def test_interpolation_scales_the_lr_as_the_reference(self):
        def lr(**kwargs):
            return DistillConfig(dataset="cifar100", init="interpolate", **kwargs).resolved().student_recipe().lr

        self.assertAlmostEqual(lr(init_lambda=0.75), 0.05 * 0.25)
        self.assertAlmostEqual(lr(init_lambda=1.0), 1e-6)  # floored at the final lr
        self.assertAlmostEqual(lr(init_lambda=0.75, init_scales_lr=False), 0.05)
        self.assertAlmostEqual(DistillConfig(dataset="cifar100").resolved().student_recipe().lr, 0.05)

    def test_teacher_recipes(self):
        paper = DistillConfig(dataset="cifar100").resolved()
        self.assertEqual(paper.teacher_recipe_for_new_members(), recipes.TEACHER)
        reference = DistillConfig(dataset="cifar100", teacher_recipe="reference").resolved()
        self.assertEqual(reference.teacher_recipe_for_new_members(), recipes.STUDENT)
        self.assertEqual(reference.teacher_dir, os.path.join("runs", "teachers", "cifar100-preresnet56-reference"))
        self.assertEqual(DistillConfig().resolved(ensemble_recipe="reference").teacher_recipe, "reference")
        teachers = TeacherConfig(dataset="cifar10", teacher_recipe="reference").resolved()
        self.assertEqual((teachers.epochs, teachers.batch_size, teachers.lr), (300, 128, 0.05))
        self.assertEqual(teachers.training_recipe().final_lr, 1e-6)

    def test_member_subsets_names_a_new_ensemble_and_leaves_old_names_alone(self):
        one_subset = TeacherConfig(train_size=200).resolved()
        own_subsets = TeacherConfig(train_size=200, member_subsets=True).resolved()
        self.assertNotEqual(one_subset.ensemble_name(), own_subsets.ensemble_name())
        # The name without the option is the one kd_tf gave before the option existed (at cc6224a).
        self.assertEqual(one_subset.ensemble_name(), "mnist5k-lenet5-c471cc6f")

    def test_runs_that_differ_in_any_option_never_share_a_directory(self):
        # One other valid value per field; every field of DistillConfig changes a result.
        other = {"dataset": "cifar10", "aug": "noise", "num_teachers": 5, "temperature": 2.0, "alpha": 0.5,
                 "epochs": 7, "batch_size": 64, "lr": 0.01, "seed": 1, "teacher_dir": "elsewhere",
                 "teacher_recipe": "reference", "teacher_arch": "preresnet20", "student_arch": "preresnet20",
                 "rotation_degrees": 90.0, "noise_prob": 0.5, "generator": "g.keras", "generator_bn": "moving",
                 "synth_ratio": 0.5, "synth_temperature": 1.0, "ood_dataset": "cifar10", "ood_count": 50,
                 "distill_splits": "d0", "split_temperatures": "1", "split_indices": "d0.npy", "data_fraction": 0.5,
                 "emnist_upright": True, "loss": "kl", "hard_label": "sample", "label_corruption": 0.1,
                 "cvx_beta": 0.5, "optimizer": "adam", "weight_decay": 0.0, "teacher_pool": 12,
                 "teacher_offset": 2, "init": "interpolate", "init_lambda": 0.5, "init_scales_lr": False,
                 "precision": "bf16", "teacher_precision": "fp16", "gan_sampling": "device", "gan_samples": 100}
        self.assertEqual(set(other), {f.name for f in dataclasses.fields(DistillConfig)})
        base = DistillConfig().resolved().run_name()
        names = {base}
        for name, value in other.items():
            run_name = DistillConfig(**{name: value}).resolved().run_name()
            self.assertNotEqual(run_name, base, name)
            names.add(run_name)
        self.assertLen(names, len(other) + 1)
        self.assertEqual(DistillConfig().resolved().run_name(), base)  # and the same run finds its own
        # An option added later leaves the directories of runs without it as they were (the main job's at cc6224a).
        self.assertEqual(base, "mnist5k-lenet5x3-to-lenet5-mixup-t4-s0-c56ef186")

    def test_names_and_recipes_need_a_resolved_config(self):
        for unresolved, method in ((DistillConfig(), "run_name"), (DistillConfig(), "student_recipe"),
                                   (TeacherConfig(), "ensemble_name"), (TeacherConfig(), "training_recipe")):
            self.assertFalse(hasattr(unresolved, method), method)
            resolved = unresolved.resolved()
            self.assertIsInstance(resolved, type(unresolved))  # still a DistillConfig (TeacherConfig): its flags
            self.assertTrue(callable(getattr(resolved, method)), method)
            self.assertEqual(resolved.resolved(), resolved)  # resolving twice changes nothing

    def test_describe_names_the_exceptions(self):
        self.assertEqual(datasets.describe("ood_count"), "10,000; 1,000 on mnist5k")
        self.assertEqual(datasets.describe("teacher.train_size"),
                         "all; 1,000 on mnist5k; 200 on mnist, emnist_for_mnist")

    def test_runtime_is_apart_from_every_experiment_config(self):
        runtime = {f.name for f in dataclasses.fields(Runtime)}
        for config in (DistillConfig, TeacherConfig, GanConfig, EvaluateConfig):
            self.assertEqual(runtime & {f.name for f in dataclasses.fields(config)}, set(), config.__name__)


class FlagsTest(absltest.TestCase):
    def test_flags_carry_the_config_defaults_help_and_choices(self):
        for config in CONFIGS:
            values = flags.FlagValues()
            cli.define_flags(config, flag_values=values)
            for field in dataclasses.fields(config):
                flag = values[field.name]
                self.assertEqual(flag.default, list(field.default) if isinstance(field.default, tuple)
                                 else field.default, field.name)
                self.assertTrue(flag.help, field.name)
                if field.metadata.get("choices"):
                    self.assertEqual(list(flag.parser.enum_values), list(field.metadata["choices"]))
                if field.metadata.get("per_dataset"):
                    self.assertIn(datasets.describe(field.metadata["per_dataset"]), flag.help, field.name)

    def test_read_flags_round_trip(self):
        values = flags.FlagValues()
        cli.define_flags(DistillConfig, flag_values=values)
        values(["prog", "--aug=noise", "--epochs=3", "--temperature=2"])
        config = cli.read_flags(DistillConfig, values)
        self.assertEqual(config, DistillConfig(aug="noise", epochs=3, temperature=2.0))
        values = flags.FlagValues()
        cli.define_flags(EvaluateConfig, flag_values=values)
        values(["prog", "--teacher_dir=t", "--students=a,b"])
        self.assertEqual(cli.read_flags(EvaluateConfig, values).students, ("a", "b"))

    def test_bounds_and_choices_are_enforced(self):
        values = flags.FlagValues()
        cli.define_flags(DistillConfig, flag_values=values)
        for bad in ("--aug=cutmix", "--alpha=1.5", "--num_teachers=0"):
            with self.assertRaises(flags.Error, msg=bad):
                values(["prog", bad])
            values.unparse_flags()

    def test_binaries_write_no_default_of_their_own(self):
        """A flag a binary defines by hand that a config also has (e.g.
        import_reference's --arch) has no default to repeat."""
        fields = {f.name for config in CONFIGS for f in dataclasses.fields(config)}
        for path in glob.glob(os.path.join(REPO_ROOT, "experiments", "*.py")):
            with open(path) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr.startswith("DEFINE_") and node.args
                        and isinstance(node.args[0], ast.Constant) and node.args[0].value in fields):
                    default = node.args[1] if len(node.args) > 1 else None
                    self.assertTrue(isinstance(default, ast.Constant) and default.value is None,
                                    f"{os.path.basename(path)} writes a default for --{node.args[0].value}")


class ReadmeTest(absltest.TestCase):
    def test_flag_tables_are_generated_from_the_configs(self):
        docs = [os.path.join(REPO_ROOT, "README.md"),
                *sorted(glob.glob(os.path.join(REPO_ROOT, "docs", "*.md")))]
        self.assertGreater(len(docs), 1, "docs/*.md are not in the test's data")
        text = ""
        for path in docs:
            with open(path) as f:
                text += f.read()
        for binary in cli.BINARY_FLAGS:
            found = re.findall(f"<!-- flags:{binary} -->\n(.*?)\n<!-- /flags:{binary} -->", text, re.S)
            self.assertLen(found, 1, f"README.md and docs/ should hold one flag table for {binary}")
            found = re.search(f"<!-- flags:{binary} -->\n(.*?)\n<!-- /flags:{binary} -->", text, re.S)
            self.assertEqual(found.group(1), cli.flags_markdown(binary),
                             f"stale table for {binary}: run tools/update_readme_flags.py")


def _main_program(body):
    return ("from kd_tf import cli\nfrom kd_tf.errors import UserError\n\ndef main():\n"
            + textwrap.indent(textwrap.dedent(body), "    ") + "\n\ncli.run(main)\n")


class RunTest(absltest.TestCase):
    def _run(self, body, *args):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        return subprocess.run([sys.executable, "-c", _main_program(body), *args], capture_output=True, text=True,
                              timeout=120, cwd=REPO_ROOT, env=env)

    def test_a_user_error_is_one_line_and_exit_status_2(self):
        proc = self._run("raise UserError('--thing=x is wrong; pass --thing=y.')")
        self.assertEqual(proc.returncode, cli.USER_ERROR_EXIT)
        self.assertEqual(proc.stderr.strip(), "error: --thing=x is wrong; pass --thing=y.")

    def test_positional_arguments_and_bad_flags_exit_2(self):
        proc = self._run("print('ran')", "stray")
        self.assertEqual((proc.returncode, proc.stdout), (cli.USER_ERROR_EXIT, ""))
        self.assertIn("unexpected arguments ['stray']", proc.stderr)
        proc = self._run("print('ran')", "--no_such_flag=1")
        self.assertEqual((proc.returncode, proc.stdout), (cli.USER_ERROR_EXIT, ""))
        self.assertIn("no_such_flag", proc.stderr)

    def test_a_bug_keeps_its_traceback(self):
        proc = self._run("raise RuntimeError('a bug')")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("Traceback", proc.stderr)

    def test_quiet_unless_verbose_and_the_users_setting_wins(self):
        body = "import os, tensorflow\nprint(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
        env_free = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        with absltest.mock.patch.dict(os.environ, env_free, clear=True):
            self.assertEqual(self._run(body).stdout.strip(), "3")
            self.assertEqual(self._run(body, "--verbose").stdout.strip(), "None")
            self.assertEqual(self._run(body, "-v", "1").stdout.strip(), "None")
        with absltest.mock.patch.dict(os.environ, {**env_free, "TF_CPP_MIN_LOG_LEVEL": "1"}, clear=True):
            self.assertEqual(self._run(body).stdout.strip(), "1")


if __name__ == "__main__":
    absltest.main()
