"""Teacher ensembles: compatibility checks that fail fast, member selection
with offsets, and the recycling split recorded in the manifest."""

import dataclasses
import hashlib
import json
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


def manifest_of(**fields):
    return teachers.Manifest.from_json({**MANIFEST, **fields})


class CompatibilityTest(absltest.TestCase):
    def test_a_fitting_ensemble_passes(self):
        teachers.check_compatible("/t", manifest_of(), "mnist5k", MNIST, "lenet5")

    def test_wrong_class_count(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "/t .*predicts 10 classes, cifar100 has 100"):
            teachers.check_compatible("/t", manifest_of(), "cifar100", dataclasses.replace(MNIST, num_classes=100))

    def test_wrong_input_shape(self):
        props = PROPERTIES["cifar10"]
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, r"input shape is \(28, 28, 1\), cifar10 images are "
                                    r"\(32, 32, 3\)"):
            teachers.check_compatible("/t", manifest_of(), "cifar10", props)

    def test_wrong_architecture(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "architecture is lenet5, not preresnet20"):
            teachers.check_compatible("/t", manifest_of(), "mnist5k", MNIST, "preresnet20")

    def test_teachers_of_another_recycling_split_are_refused(self):
        tmp = self.create_tempdir().full_path
        teachers.write_manifest(tmp, manifest_of())
        dataset = Dataset("mnist5k", None, None, MNIST)
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "learnt from the 'all' part .* trained on 'd0'"):
            teachers_job.ensure_ensemble(tmp, dataset, teachers_job.EnsembleSpec("lenet5", None, train_split="d0"), 1,
                                         None)


class ExistingEnsembleTest(absltest.TestCase):
    def setUp(self):
        self.dir = self.create_tempdir().full_path
        self.dataset = Dataset("mnist5k", None, None, MNIST)

    def _write(self, **fields):
        teachers.write_manifest(self.dir, manifest_of(**fields))
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
        self.assertLen(manifest.members, 5)

    def test_teachers_of_another_d0_are_refused(self):
        from kd_tf.data.distillation_set import RecyclingSplit

        self._write(train_split="d0", split="seed 0")
        spec = teachers_job.EnsembleSpec("lenet5", None, train_split="d0",
                                         recycling=RecyclingSplit(None, "d0.npy (sha256 123)"))
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "D0 made by 'seed 0'.*--split_indices"):
            teachers_job.ensure_ensemble(self.dir, self.dataset, spec, 1, None)


class MemberSubsetsTest(absltest.TestCase):
    """--member_subsets: member i learns from the subset of seed i (the paper's
    MNIST teachers); without it every member learns from the subset of seed 0."""

    def _train(self, member_subsets):
        from kd_tf.data import sources
        from kd_tf.train import strategy as strategies

        seen = []
        real = teachers_job.stratified_subset

        def recording(split, size, seed):
            subset = real(split, size, seed)
            seen.append((hashlib.sha256(subset.images.tobytes()).hexdigest(), len(subset)))
            return subset

        dataset = sources.load("mnist5k", None)
        recipe = dataclasses.replace(recipes.EMBEDDED_TEACHER, epochs=1, batch_size=20, train_size=40)
        spec = teachers_job.EnsembleSpec("lenet5", recipe, member_subsets=member_subsets)
        directory = self.create_tempdir().full_path
        teachers_job.stratified_subset = recording
        try:
            manifest = teachers_job.ensure_ensemble(directory, dataset, spec, 2, strategies.make_strategy("auto"))
        finally:
            teachers_job.stratified_subset = real
        return manifest, seen

    def test_each_member_learns_its_own_subset(self):
        manifest, seen = self._train(member_subsets=True)
        self.assertTrue(manifest.member_subsets)
        self.assertLen(seen, 2)
        self.assertEqual([s[-1] for s in seen], [40, 40])
        self.assertNotEqual(seen[0], seen[1])
        # Without the flag both members see the same 40 examples, and the manifest says nothing.
        manifest, seen = self._train(member_subsets=False)
        self.assertNotIn("member_subsets", manifest.to_json())
        self.assertEqual(seen[0], seen[1])

    def test_one_subset_ensemble_refuses_member_subsets(self):
        directory = self.create_tempdir().full_path
        teachers.write_manifest(directory, manifest_of())
        spec = teachers_job.EnsembleSpec("lenet5", None, member_subsets=True)
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "all learnt from one subset; --member_subsets"):
            teachers_job.ensure_ensemble(directory, Dataset("mnist5k", None, None, MNIST), spec, 1, None)


class ManifestFileTest(absltest.TestCase):
    def test_manifests_of_trained_and_imported_members_read_and_write_back_unchanged(self):
        trained = {"architecture": "lenet5", "dataset": "mnist5k", "train_split": "d0", "num_classes": 10,
                   "input_shape": [28, 28, 1], "recipe": dataclasses.asdict(recipes.EMBEDDED_TEACHER),
                   "seed_base": 3, "members": [{"file": "member_0.keras", "init_weights": "member_0.init.weights.h5",
                                                "seed": 3, "train_seconds": 12.5, "test": {"accuracy": 97.0}}],
                   "recipe_name": "paper", "split": "50/50, seed 0", "member_subsets": True}
        imported = {"architecture": "preresnet20", "dataset": "cifar100", "train_split": "all", "num_classes": 100,
                    "input_shape": [32, 32, 3], "recipe": None, "seed_base": 0,
                    "members": [{"file": "member_0.keras", "seed": None, "source": "ref.pt", "test": None,
                                 "a_later_key": 1}], "another_later_key": [2]}
        older = {k: v for k, v in trained.items() if k != "seed_base"}  # before ensembles kept their seed base
        for value in (trained, imported, older):
            directory = self.create_tempdir().full_path
            with open(os.path.join(directory, "manifest.json"), "w") as f:
                json.dump(value, f)
            read = teachers.read_manifest(directory)
            self.assertEqual(read.trained, value["recipe"] is not None)
            teachers.write_manifest(directory, read)
            with open(os.path.join(directory, "manifest.json")) as f:
                self.assertEqual(list(json.load(f).items()), list(value.items()))  # keys in the same order too

    def test_a_manifest_whose_member_lacks_its_file_is_damaged(self):
        directory = self.create_tempdir().full_path
        with open(os.path.join(directory, "manifest.json"), "w") as f:
            json.dump({**MANIFEST, "members": [{"seed": 0}]}, f)
        with self.assertRaisesRegex(teachers.DamagedEnsembleError, "manifest.json is damaged"):
            teachers.read_manifest(directory)


class MemberSelectionTest(absltest.TestCase):
    def test_offsets_select_disjoint_sets_and_wrap(self):
        self.assertEqual(teachers.member_indices(manifest_of(), 2, 0), [0, 1])
        self.assertEqual(teachers.member_indices(manifest_of(), 2, 2), [2, 3])
        self.assertEqual(teachers.member_indices(manifest_of(), 3, 4), [4, 0, 1])

    def test_fewer_members_than_asked(self):
        with self.assertRaisesRegex(teachers.EnsembleMismatchError, "holds 5 members, 6 were asked for"):
            teachers.member_indices(manifest_of(), 6)


if __name__ == "__main__":
    absltest.main()
