"""The shape of the house, checked against the code (read with `ast`, not
imported): no import circle, each folder imports only what docs/architecture.md's
Architecture table allows, no private name used across modules, no module
named after a standard-library one, and BUILD files whose deps are exactly
the imports (so that a new circle is also a Bazel dependency cycle)."""

import ast
import os
import sys

from absl.testing import absltest

from tools import import_graph as g

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Folder (or top-level module) -> what it may import from kd_tf, besides itself
# and kd_tf.errors. Mirrors the Architecture table of docs/architecture.md.
MAY_IMPORT = {
    "kd_tf/errors": set(),
    "kd_tf/metrics": set(),
    "kd_tf/config": set(),
    "kd_tf/cli": {"kd_tf/config", "kd_tf/jobs"},  # the jobs table only (TENSORFLOW_FREE)
    "kd_tf/models": set(),
    "kd_tf/distill": {"kd_tf/metrics"},
    "kd_tf/data": set(),
    "kd_tf/gan": {"kd_tf/models"},
    "kd_tf/train": {"kd_tf/models", "kd_tf/metrics", "kd_tf/distill", "kd_tf/data", "kd_tf/gan", "kd_tf/config"},
    "kd_tf/jobs": {"kd_tf/models", "kd_tf/metrics", "kd_tf/distill", "kd_tf/data", "kd_tf/gan", "kd_tf/config",
                   "kd_tf/train"},
    "kd_tf/bench": {"kd_tf/models", "kd_tf/metrics", "kd_tf/distill", "kd_tf/data", "kd_tf/gan", "kd_tf/config",
                    "kd_tf/train"},
    "kd_tf/studies": {"kd_tf/config", "kd_tf/train", "kd_tf/jobs", "kd_tf/cli"},
}
# Modules that must not load TensorFlow or Keras, themselves or through what they
# import: binaries check flags with them first, and a study is planned (--dry_run)
# without TensorFlow.
TENSORFLOW_FREE = ("kd_tf/config", "kd_tf/cli", "kd_tf/errors", "kd_tf/jobs/kinds", "kd_tf/studies/spec",
                   "kd_tf/studies/plan", "kd_tf/studies/builder", "kd_tf/studies/definitions")
HEAVY = ("tensorflow", "keras", "numpy", "tensorflow_datasets")


def area(module):
    parts = module.split("/")
    return "/".join(parts[:2])


class ImportGraphTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.modules = g.modules(ROOT)
        cls.imports = {m: g.imports(ROOT, m) for m in cls.modules}

    def test_every_folder_is_in_the_table(self):
        self.assertEqual({area(m) for m in self.modules if not m.endswith("kd_tf/__init__")}, set(MAY_IMPORT))

    def test_no_import_circle(self):
        graph = {m: {i.module for i in imports if not i.lazy} - {m} for m, imports in self.imports.items()}
        self.assertEqual(g.cycles(graph), [])

    def test_cycle_detection_finds_a_circle(self):
        self.assertEqual(g.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}), [["a", "b", "c"]])

    def test_folders_import_only_what_they_may(self):
        wrong = []
        for module, imports in self.imports.items():
            if module == "kd_tf/__init__":
                continue  # the public API: lazy names from everywhere
            allowed = MAY_IMPORT[area(module)] | {area(module), "kd_tf/errors"}
            wrong += [f"{module}:{i.line} imports {i.module}" for i in imports
                      if not i.lazy and area(i.module) not in allowed]
        self.assertEqual(wrong, [])

    def test_no_private_name_used_across_modules(self):
        wrong = []
        for module, imports in self.imports.items():
            wrong += [f"{module}:{i.line} imports {name} from {i.module}" for i in imports for name in i.names
                      if name.startswith("_")]
            wrong += [f"{module}:{line} uses {name}" for line, name in g.private_attribute_uses(ROOT, module)]
        self.assertEqual(wrong, [])

    def test_no_module_shadows_the_standard_library(self):
        shadows = [m for m in self.modules if m.rsplit("/", 1)[1] in sys.stdlib_module_names]
        self.assertEqual(shadows, [])

    def _reached(self, module):
        """The kd_tf modules a module loads when imported (not counting lazy imports)."""
        seen, todo = set(), [module]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.imports:
                continue
            seen.add(current)
            todo += [i.module for i in self.imports[current] if not i.lazy]
        return seen

    def test_flag_checking_and_planning_modules_are_free_of_tensorflow(self):
        free = [m for m in self.modules if m.startswith(TENSORFLOW_FREE)]
        self.assertIn("kd_tf/studies/plan", free)
        heavy = []
        for module in free:
            heavy += [f"{module} loads {name} through {reached}" for reached in sorted(self._reached(module))
                      for name in g.third_party_imports(ROOT, reached) if name.split(".")[0] in HEAVY]
        self.assertEqual(heavy, [])

    def test_every_job_of_the_jobs_table_has_an_execute_that_the_study_worker_can_import(self):
        from kd_tf.jobs.kinds import JOBS

        worker_imports = {i.module for i in self.imports["kd_tf/studies/worker"]}
        for job in JOBS.values():
            module = job.module.replace(".", "/")
            with open(os.path.join(ROOT, module + ".py")) as f:
                tree = ast.parse(f.read())
            functions = {n.name: [a.arg for a in n.args.args] for n in tree.body if isinstance(n, ast.FunctionDef)}
            self.assertEqual(functions.get("execute"), ["config", "runtime"], module)
            self.assertIn(module, worker_imports, "the worker's imports are the job modules' Bazel deps")

    def test_the_tensorflow_check_sees_an_import_through_another_module(self):
        self.assertIn("kd_tf/train/storage", self._reached("kd_tf/train/run_dir"))
        self.assertIn("tensorflow", {n.split(".")[0] for n in g.third_party_imports(ROOT, "kd_tf/train/storage")})


class BuildFilesTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.targets = {}
        for directory, _, files in os.walk(ROOT):
            if "BUILD" in files and not os.path.relpath(directory, ROOT).startswith(("third_party", ".")):
                package = os.path.relpath(directory, ROOT)
                for name, target in g.read_build_file(os.path.join(directory, "BUILD")).items():
                    cls.targets[f"//{package}:{name}"] = target

    def _deps(self, label):
        package = label[2:].split(":")[0]
        return {d if d.startswith("//") else f"//{package}{d}" for d in self.targets[label]["deps"]}

    def test_every_kd_tf_module_has_its_own_target_with_exactly_its_imports(self):
        for module in g.modules(ROOT):
            label = g.label(module)
            self.assertIn(label, self.targets, f"{module} has no target; run tools/update_build_files.py")
            self.assertEqual(self.targets[label]["srcs"], [module.rsplit("/", 1)[1] + ".py"], label)
            self.assertEqual(self._deps(label), g.required_deps(ROOT, module),
                             f"{label}: deps differ from the imports; run tools/update_build_files.py")

    def test_the_kd_tf_target_holds_every_module(self):
        self.assertEqual(self._deps("//kd_tf:kd_tf"), {g.label(m) for m in g.modules(ROOT)})

    def test_binaries_and_tests_depend_on_what_they_import(self):
        owner = {}  # source file -> the target that lists it
        for label, target in self.targets.items():
            package = label[2:].split(":")[0]
            for src in target["srcs"]:
                owner[f"{package}/{src[:-3]}"] = label
        for top in ("experiments", "tests"):
            testlib = self._deps("//tests:testlib") if top == "tests" else set()
            for module in g.modules(ROOT, top):
                if module.endswith("__init__"):
                    continue
                self.assertIn(module, owner, f"{module}.py is in no target of {top}/BUILD")
                label = owner[module]
                needed = {g.label(i.module) for i in g.imports(ROOT, module) if i.module.startswith("kd_tf/")}
                needed = {n for n in needed if not n.endswith(":__init__")}  # reached through any target
                self.assertEqual(needed - self._deps(label) - testlib, set(), f"{module} ({label})")


if __name__ == "__main__":
    absltest.main()
