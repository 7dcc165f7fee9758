"""kd_tf installed with pip, used from outside the source tree: the package
builds from pyproject.toml, declares requirements.txt's pins, and the
README's library example runs against the installed copy."""

import os
import re
import shutil
import subprocess
import sys

from absl.testing import absltest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Using kd_tf as a library"


def readme_example():
    """The first python code block of the README's library section."""
    with open(os.path.join(REPO_ROOT, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index(SECTION):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def pins():
    with open(os.path.join(REPO_ROOT, "requirements.txt")) as f:
        return sorted(line.strip() for line in f if line.strip() and not line.startswith("#"))


class InstalledPackageTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = absltest.get_default_test_tmpdir()
        # A plain copy of what a source distribution holds (the runfiles are symlinks).
        cls.source = os.path.join(tmp, "source")
        shutil.rmtree(cls.source, ignore_errors=True)
        os.makedirs(cls.source)
        for name in ("pyproject.toml", "requirements.txt", "README.md"):
            shutil.copy(os.path.join(REPO_ROOT, name), cls.source)
        shutil.copytree(os.path.join(REPO_ROOT, "kd_tf"), os.path.join(cls.source, "kd_tf"),
                        ignore=shutil.ignore_patterns("BUILD", "__pycache__"))
        cls.target = os.path.join(tmp, "site")
        shutil.rmtree(cls.target, ignore_errors=True)
        # Offline: the build backend is the venv's setuptools.
        cls.install = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
             "--disable-pip-version-check", "--no-cache-dir", "--target", cls.target, cls.source],
            capture_output=True, text=True, timeout=300)

    def test_installs_with_the_pins_of_requirements_txt(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout[-2000:] + self.install.stderr[-2000:])
        (dist,) = [d for d in os.listdir(self.target) if d.endswith(".dist-info")]
        with open(os.path.join(self.target, dist, "METADATA")) as f:
            requires = sorted(line.split(":", 1)[1].strip() for line in f if line.startswith("Requires-Dist:"))
        self.assertEqual(requires, pins())
        for package in ("kd_tf/models", "kd_tf/jobs", "kd_tf/train/callbacks", "kd_tf/config"):
            self.assertTrue(os.path.exists(os.path.join(self.target, package, "__init__.py")), package)

    def test_readme_example_runs_against_the_installed_copy(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr[-2000:])
        workdir = self.create_tempdir().full_path
        example = readme_example()
        self.assertLessEqual(len(example.strip().splitlines()), 15, "the README promises 15 lines or fewer")
        script = ("import kd_tf, sys\nprint('kd_tf from', kd_tf.__file__, file=sys.stderr)\n" + example
                  + "\nimport keras\nprint('reloaded', type(keras.saving.load_model('student.keras')).__name__)\n")
        # Only the installed copy and the venv's packages: no source tree, no runfiles.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
        env.update(PYTHONPATH=self.target, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                              cwd=workdir, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr[-4000:])
        self.assertIn(f"kd_tf from {os.path.join(self.target, 'kd_tf', '__init__.py')}", proc.stderr)
        self.assertRegex(proc.stdout, r"student test \{.*'agreement': \d")
        self.assertIn("reloaded LeNet5", proc.stdout)
        self.assertTrue(os.path.exists(os.path.join(workdir, "teachers", "manifest.json")))


if __name__ == "__main__":
    absltest.main()
