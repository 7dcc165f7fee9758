"""Teacher ensembles: compatibility checks that fail fast, member selection
with offsets, and the recycling split recorded in the manifest."""

import dataclasses
import os

from absl.testing import absltest

from kd_tf.config import recipes
from kd_tf.data.catalog import PROPERTIES, Dataset
from kd_tf.jobs import teachers as teachers_job
from kd_tf.train import teacher_store as teachers

MNIST = PROPERTIES["mnist5k"]
MANIFEST = {"architecture": "lenet5", "dataset": "mnist5k", "num_classes": 10, "input_shape": [28, 28, 1],
            "train_split": "all", "recipe": dataclasses.asdict(recipes.EMBEDDED_TEACHER),
            "members": [{"file": f"member_{i}.keras"} for i in range(5)]}


class CompatibilityTest(absltest.TestCase):
    def test_a_fitting_ensemble_passes(self):
        teachers.check_compatible("/t", MANIFEST, "mnist5k", MNIST, "lenet5")

    def test_wrong_class_count(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "/t .*predicts 10 classes, cifar100 has 100"):
            teachers.check_compatible("/t", MANIFEST, "cifar100", dataclasses.replace(MNIST, num_classes=100))

    def test_wrong_input_shape(self):
        props = PROPERTIES["cifar10"]
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, r"input shape is \(28, 28, 1\), cifar10 images are "
                                    r"\(32, 32, 3\)"):
            teachers.check_compatible("/t", MANIFEST, "cifar10", props)

    def test_wrong_architecture(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "architecture is lenet5, not preresnet20"):
            teachers.check_compatible("/t", MANIFEST, "mnist5k", MNIST, "preresnet20")

    def test_teachers_of_another_recycling_split_are_refused(self):
        tmp = self.create_tempdir().full_path
        teachers.write_manifest(tmp, MANIFEST)
        dataset = Dataset("mnist5k", None, None, MNIST)
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "learnt from the 'all' part .* trained on 'd0'"):
            teachers_job.ensure_ensemble(tmp, dataset, teachers_job.EnsembleSpec("lenet5", None, train_split="d0"), 1,
                                         None)


class ExistingEnsembleTest(absltest.TestCase):
    def setUp(self):
        self.dir = self.create_tempdir().full_path
        self.dataset = Dataset("mnist5k", None, None, MNIST)

    def _write(self, **fields):
        teachers.write_manifest(self.dir, {**MANIFEST, **fields})
        for member in MANIFEST["members"]:  # present: a member whose file is missing would be retrained
            with open(os.path.join(self.dir, member["file"]), "w"):
                pass

    def test_an_explicit_recipe_must_match_the_ensembles(self):
        self._write(recipe_name="paper")
        spec = teachers_job.EnsembleSpec("lenet5", None, "reference", recipe_requested=True)
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "trained with the paper recipe, not "
                                    "--teacher_recipe=reference"):
            teachers_job.ensure_ensemble(self.dir, self.dataset, spec, 1, None)
        # Without an explicit request the ensemble's recipe is used, whatever it is.
        manifest = teachers_job.ensure_ensemble(self.dir, self.dataset, teachers_job.EnsembleSpec("lenet5", None,
                                                                                                  "reference"), 5, None)
        self.assertLen(manifest["members"], 5)

    def test_teachers_of_another_d0_are_refused(self):
        from kd_tf.data.distillation_set import RecyclingSplit

        self._write(train_split="d0", split="seed 0")
        spec = teachers_job.EnsembleSpec("lenet5", None, train_split="d0",
                                         recycling=RecyclingSplit(None, "d0.npy (sha256 123)"))
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "D0 made by 'seed 0'.*--split_indices"):
            teachers_job.ensure_ensemble(self.dir, self.dataset, spec, 1, None)


class MemberSelectionTest(absltest.TestCase):
    def test_offsets_select_disjoint_sets_and_wrap(self):
        self.assertEqual(teachers.member_indices(MANIFEST, 2, 0), [0, 1])
        self.assertEqual(teachers.member_indices(MANIFEST, 2, 2), [2, 3])
        self.assertEqual(teachers.member_indices(MANIFEST, 3, 4), [4, 0, 1])

    def test_fewer_members_than_asked(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "holds 5 members, 6 were asked for"):
            teachers.member_indices(MANIFEST, 6)


if __name__ == "__main__":
    absltest.main()
