"""The configuration of a teacher ensemble's training (experiments/train_teachers)."""

import dataclasses

from kd_tf.config import choices
from kd_tf.config.datasets import teacher_recipe
from kd_tf.config.distill import config_hash, default_teacher_dir
from kd_tf.config.options import option, resolved_as, with_dataset_defaults


@dataclasses.dataclass(frozen=True)
class TeacherConfig:
    dataset: str = option("mnist5k", "Dataset (mnist5k is embedded; the others are TFDS).", choices=choices.DATASETS)
    arch: str | None = option(None, "Member architecture.", choices=choices.CLASSIFIERS, per_dataset="architecture")
    num_teachers: int = option(3, "Number of members the directory should hold.", lower=1)
    teacher_dir: str | None = option(None, "Ensemble directory (default: runs/teachers/<dataset>-<arch>).")
    epochs: int | None = option(None, "Epochs per member.", lower=1, per_dataset="teacher.epochs")
    batch_size: int | None = option(None, "Global batch.", lower=1, per_dataset="teacher.batch_size")
    lr: float | None = option(None, "Initial learning rate, cosine to the recipe's final lr.", lower=0.0,
                              per_dataset="teacher.lr")
    train_size: int | None = option(None, "Train each member on a class-balanced subset of this size.", lower=1,
                                    per_dataset="teacher.train_size")
    member_subsets: bool = option(False, "With --train_size: member i learns from its own class-balanced subset "
                                  "(seed i), as the paper's MNIST teachers do, rather than every member from the "
                                  "subset of seed 0 (the reference's).")
    seed: int = option(0, "Seed of member 0 of a new ensemble; member i has seed + i (an existing ensemble "
                       "keeps its own).")
    train_split: str = option("all", "Learn from the whole train split, or a data-recycling half (d0 as in "
                              "the study).", choices=choices.TEACHER_SPLITS)
    split_indices: str | None = option(None, "Data recycling: a .npy of D0's indices into the train split "
                                       "(default: a 50/50 split with seed 0).")
    teacher_recipe: str | None = option(None, "The paper's teacher recipe, or the reference config's (its student "
                                        "recipe) (default: the ensemble's, else paper).",
                                        choices=choices.TEACHER_RECIPES)

    def resolved(self, ensemble_recipe=None):
        """Every default filled in; the recipe: explicit, else the ensemble's
        (from its manifest, read by the caller), else the paper's. Epochs,
        batch, lr and train_size default to that recipe's."""
        which = self.teacher_recipe or ensemble_recipe or "paper"
        base = teacher_recipe(self.dataset, which)
        config = with_dataset_defaults(self, self.dataset)
        return resolved_as(ResolvedTeacherConfig, dataclasses.replace(
            config, teacher_recipe=which, epochs=self.epochs or base.epochs,
            batch_size=self.batch_size or base.batch_size, lr=self.lr if self.lr is not None else base.lr,
            train_size=self.train_size if self.train_size is not None else base.train_size,
            teacher_dir=self.teacher_dir or default_teacher_dir(self.dataset, config.arch, self.train_split == "d0",
                                                                which)))


@dataclasses.dataclass(frozen=True)
class ResolvedTeacherConfig(TeacherConfig):
    """A TeacherConfig with every default filled in (TeacherConfig.resolved):
    only this type names an ensemble or gives its recipe."""

    def ensemble_name(self):
        """A directory name for this ensemble: readable, and a hash of every
        field that changes the members (not their number or where they live),
        so that a study's ensembles never mix."""
        suffix = ("-d0" if self.train_split == "d0" else "") + ("-reference" if self.teacher_recipe == "reference"
                                                                 else "")
        # A field at its old default is left out, so that existing ensembles keep their names.
        digest = config_hash(self, exclude=("num_teachers", "teacher_dir") + (() if self.member_subsets
                                                                              else ("member_subsets",)))
        return f"{self.dataset.replace('/', '_')}-{self.arch}{suffix}-{digest}"

    def training_recipe(self):
        """The recipe with this config's overrides."""
        return dataclasses.replace(teacher_recipe(self.dataset, self.teacher_recipe), epochs=self.epochs,
                                   batch_size=self.batch_size, lr=self.lr, train_size=self.train_size)
