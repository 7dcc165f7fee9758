"""--executor=ray: a study's runs as Ray tasks on a local Ray instance. Bazel
runs this test with only a loopback interface (tags = ["block-network"]), so
the instance lives on 127.0.0.1 and nothing leaves the machine. Ray is
optional: CI installs it; without it the test is reported as skipped."""

import dataclasses
import os
import socket
import unittest

from absl.testing import absltest

from kd_tf.config.runtime import Runtime
from kd_tf.config.study import StudyConfig, StudyExecution
from kd_tf.studies import definitions, run
from kd_tf.studies.scale import SMOKE

try:
    import ray
except ImportError:  # reported as a skip below
    ray = None

TEST_SCALE = dataclasses.replace(SMOKE, thin=True, student_epochs=1, teacher_epochs=2)


@unittest.skipIf(ray is None, "Ray is not installed (pip install ray==2.60.0 enables this test)")
class RayExecutorTest(absltest.TestCase):
    def test_only_loopback_is_up(self):
        # This network namespace's interfaces (/sys/class/net would show the host's).
        interfaces = {name for _, name in socket.if_nameindex()}
        self.assertEqual(interfaces, {"lo"}, "run under Bazel (block-network) so that Ray stays on 127.0.0.1")

    def test_a_study_on_ray(self):
        # Ray 2.60's local instance turns on token authentication and writes its
        # token to ~/.ray; Bazel's sandbox mounts the real home read-only.
        os.environ["HOME"] = self.create_tempdir("home").full_path
        root = self.create_tempdir().full_path
        result = run.run(StudyConfig(study="vgg", scale="smoke"), StudyExecution(runs_dir=root, executor="ray"),
                         Runtime(), scale=TEST_SCALE)
        self.assertEqual([(o.run.directory, o.error) for o in result.failed], [])
        self.assertLen(result.trained, len(definitions.build("vgg", TEST_SCALE, root).runs))
        with open(result.report) as f:
            self.assertIn("Runs: 5 done.", f.read())


if __name__ == "__main__":
    absltest.main()
