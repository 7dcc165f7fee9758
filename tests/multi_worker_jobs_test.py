"""Teacher and SN-GAN training under several workers: each worker builds only
its share of every global batch (strategy.distribute_datasets_from_function,
not Keras's DATA auto-sharding, where every worker builds every batch), and
a 2-worker cluster on 127.0.0.1 trains both, writing once."""

import os
import re
import subprocess
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import absltest

from kd_tf.data import pipeline, sources
from kd_tf.data.gan_input import real_stream
from kd_tf.train import storage
from tests import binaries


def _context(pipelines, index, replicas):
    return tf.distribute.InputContext(num_input_pipelines=pipelines, input_pipeline_id=index,
                                      num_replicas_in_sync=replicas)


def _rows(images):
    return {np.asarray(image).tobytes() for image in images}


class InputShareTest(absltest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = sources.load("mnist5k")
        cls.props, cls.split = data.properties, data.train.subset(np.arange(512))

    def test_teacher_batches_split_between_two_workers(self):
        whole = next(iter(pipeline.supervised_dataset(self.split, self.props, 64, 0, 1)))
        shares = [next(iter(pipeline.supervised_dataset(self.split, self.props, 64, 0, 1, context=_context(2, i, 2))))
                  for i in range(2)]
        self.assertEqual([s[0].shape[0] for s in shares], [32, 32])
        self.assertEqual(_rows(shares[0][0]) & _rows(shares[1][0]), set())
        self.assertEqual(_rows(shares[0][0]) | _rows(shares[1][0]), _rows(whole[0]))
        np.testing.assert_array_equal(np.sort(np.concatenate([s[1] for s in shares])), np.sort(whole[1]))

    def test_gan_real_images_split_between_two_workers(self):
        whole = next(iter(real_stream(self.split, self.props, 64, 0)))
        one = next(iter(real_stream(self.split, self.props, 64, 0, input_context=_context(1, 0, 1))))
        np.testing.assert_array_equal(whole, one)  # one replica: the single-device stream, unchanged
        shares = [next(iter(real_stream(self.split, self.props, 64, 0, input_context=_context(2, i, 2))))
                  for i in range(2)]
        self.assertEqual([s.shape[0] for s in shares], [32, 32])
        # Each worker builds its own half of the single-device batch: rows 0-31 and 32-63, in order.
        np.testing.assert_array_equal(np.concatenate(shares), whole)
        # With 2 discriminator steps a replica's share is its half of each step's batch.
        whole = next(iter(real_stream(self.split, self.props, 32, 0, disc_steps=2)))
        shares = [next(iter(real_stream(self.split, self.props, 32, 0, disc_steps=2,
                                        input_context=_context(2, i, 2)))) for i in range(2)]
        np.testing.assert_array_equal(np.concatenate([shares[0][:16], shares[1][:16], shares[0][16:],
                                                      shares[1][16:]]), whole)
        with self.assertRaisesRegex(Exception, "must divide among the 3 replicas"):
            real_stream(self.split, self.props, 64, 0, input_context=_context(1, 0, 3))


class TwoWorkerJobsTest(absltest.TestCase):
    def cluster(self, job, *flags):
        command = binaries.command("local_cluster") + ["--workers=2", "--timeout_s=600", "--", job, *flags]
        return subprocess.run(command, capture_output=True, text=True, timeout=700, cwd=binaries.REPO_ROOT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})

    def assert_shares(self, log, what):
        for worker in range(2):
            self.assertRegex(log, rf"\[worker {worker}\] .*{what}: input pipeline {worker + 1} of 2 builds 32 of "
                                  r"the 64 rows")

    def test_train_teachers(self):
        teacher_dir = os.path.join(tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir()), "teachers")
        proc = self.cluster("//experiments:train_teachers", "--num_teachers=1", "--epochs=6", "--train_size=512",
                            f"--teacher_dir={teacher_dir}")
        self.assertEqual(proc.returncode, 0, proc.stdout[-5000:])
        self.assert_shares(proc.stdout, "teacher training")
        self.assertEqual(sorted(os.listdir(teacher_dir)), ["manifest.json", "member_0.init.weights.h5",
                                                           "member_0.keras"])
        manifest = storage.read_json(os.path.join(teacher_dir, "manifest.json"))
        self.assertLen(manifest["members"], 1)
        self.assertGreater(manifest["members"][0]["test"]["accuracy"], 50)

    def test_train_gan(self):
        output_dir = os.path.join(tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir()), "gan")
        proc = self.cluster("//experiments:train_gan", "--gen_steps=4", "--checkpoint_every=2",
                            "--disc_steps_per_gen_step=1", f"--output_dir={output_dir}")
        self.assertEqual(proc.returncode, 0, proc.stdout[-5000:])
        self.assert_shares(proc.stdout, "SN-GAN real images")
        self.assertLen(os.listdir(os.path.join(output_dir, "tensorboard")), 1)  # the chief's events only
        self.assertEqual(storage.read_json(os.path.join(output_dir, "results.json"))["generator_steps"], 4)
        self.assertEqual(sorted(re.findall(r"ckpt-\d+\.index", " ".join(os.listdir(
            os.path.join(output_dir, "checkpoints"))))), ["ckpt-2.index", "ckpt-4.index"])


if __name__ == "__main__":
    absltest.main()
