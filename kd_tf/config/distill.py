"""The configuration of one distillation: the experiment's options only
(where the run goes and how it is executed are kd_tf.config.runtime)."""

import dataclasses
import hashlib
import json
import os

from kd_tf.config import choices, recipes
from kd_tf.config.datasets import describe, for_dataset, lookup, teacher_dataset, teacher_recipe
from kd_tf.config.options import option, resolved_as, with_dataset_defaults


@dataclasses.dataclass(frozen=True)
class DistillConfig:
    dataset: str = option("mnist5k", "Dataset (mnist5k is embedded; the others are TFDS).", choices=choices.DATASETS)
    aug: str = option("mixup", "Distillation data policy.", choices=choices.POLICIES)
    num_teachers: int = option(3, "Ensemble size m.", lower=1)
    temperature: float | None = option(None, "Distillation temperature tau.", lower=1e-6, per_dataset="temperature")
    alpha: float = option(0.0, "Weight of the true-label cross-entropy.", lower=0.0, upper=1.0)
    epochs: int | None = option(None, "Student epochs.", lower=1, per_dataset="student.epochs")
    batch_size: int | None = option(None, "Global student batch.", lower=1, per_dataset="student.batch_size")
    lr: float | None = option(None, "Initial student learning rate; cosine to the recipe's final lr, per epoch "
                              "(adam: 1e-3, torch.optim.Adam's default; after --init=interpolate, scaled by "
                              "1 - lambda unless --noinit_scales_lr).", lower=0.0, per_dataset="student.lr")
    seed: int = option(0, "Seed of the student's initialisation and of the data stream.")
    teacher_dir: str | None = option(
        None, "Teacher ensemble directory; missing members are trained there (default: "
        "runs/teachers/<dataset>-<teacher_arch>, with -d0 for data recycling, -reference for --teacher_recipe="
        "reference).")
    teacher_recipe: str | None = option(
        None, "Recipe of teachers trained on first use: the paper's, or the reference config's (the student "
        "recipe) (default: the ensemble's, else paper).", choices=choices.TEACHER_RECIPES)
    teacher_arch: str | None = option(
        None, "Architecture of new teachers (default: the ensemble's, else the dataset's: "
        f"{describe('architecture')}).", choices=choices.CLASSIFIERS)
    student_arch: str | None = option(None, "Student architecture.", choices=choices.CLASSIFIERS,
                                      per_dataset="architecture")
    # Policy options (REFERENCE.md section 4).
    rotation_degrees: float = option(20.0, "rotation, combined: largest angle (the paper's; the reference "
                                     "config's 90 is not).", lower=0.0)
    noise_prob: float = option(0.2, "noise: probability that an image is replaced by U[0,1] noise.",
                               lower=0.0, upper=1.0)
    generator: str | None = option(None, "gan: generator (.keras or SavedModel) mapping z to images in [-1, 1] "
                                   "(default on mnist5k: the quick generator, trained on first use).")
    generator_bn: str = option("batch", "gan: BatchNorm of the generator while sampling: the statistics of each "
                               "synthetic batch, as the reference (which never puts its generator in eval mode), or "
                               "its moving averages.", choices=choices.GENERATOR_BN)
    gan_sampling: str = option("host", "gan: where synthetic rows are drawn: by the generator in the tf.data "
                               "pipeline on the host, or inside the train step on the accelerator (for a small "
                               "host feeding a fast accelerator; the global batch's synthetic rows must then "
                               "divide evenly among the replicas).", choices=choices.GAN_SAMPLING)
    synth_ratio: float = option(0.25, "gan: synthetic rows per real row (1:4 gives 25 of 128).", lower=0.0)
    synth_temperature: float | None = option(
        None, "gan: temperature of synthetic rows (default: --temperature, as in the paper; the reference's "
        "later code used 1).", lower=1e-6)
    ood_dataset: str | None = option(None, "ood: source of unlabelled images.", choices=choices.OOD_DATASETS,
                                     per_dataset="ood_dataset")
    ood_count: int | None = option(None, "ood: images added, chosen with a fixed seed.", lower=1,
                                   per_dataset="ood_count")
    gan_samples: int | None = option(None, "Add this many SN-GAN samples (--generator) to the distillation data as "
                                     "unlabelled rows, generated once with a fixed seed and stored with the run "
                                     "(gan_samples.npz): the paper's enlarged sets (section 6.1, Fig 1), static "
                                     "unlike --aug=gan's per-batch draws.", lower=1)
    distill_splits: str | None = option(None, "Data recycling: distil on d0, d1 or d0,d1 (teachers learn from d0).")
    split_temperatures: str | None = option(None, "Data recycling: a temperature per split, e.g. 1,4 "
                                            "(default: --temperature for each).")
    split_indices: str | None = option(None, "Data recycling: a .npy of D0's indices into the train split (D1 is "
                                       "the rest), e.g. the split of imported reference teachers (default: a "
                                       "50/50 split with seed 0).")
    data_fraction: float | None = option(None, "Distil on this class-balanced fraction of the real rows, drawn "
                                         "with seed 0 as teachers' --train_size subsets are, so that equal sizes "
                                         "give the teachers' own examples (default: all).", lower=0.0, upper=1.0)
    emnist_upright: bool = option(False, "emnist_for_mnist: transpose EMNIST images to MNIST's orientation "
                                  "(the reference feeds them as stored, transposed).")
    # Engine options.
    loss: str = option("fwd_ce", "Teacher-student loss (fwd_ce is the paper's L_KD).", choices=choices.LOSSES)
    hard_label: str = option("argmax", "hard, cvx: the teacher's argmax, or a draw from its softmax.",
                             choices=choices.HARD_LABELS)
    label_corruption: float = option(0.0, "hard, cvx: fraction r of rows whose hard label is replaced by a random "
                                     "class (exactly int(batch * r) draws, with replacement).", lower=0.0, upper=1.0)
    cvx_beta: float = option(1.0, "cvx: initial weight of the hard term, falling by beta/epochs after each epoch "
                             "(the reference's config: 1).", lower=0.0, upper=1.0)
    optimizer: str = option("sgd", "sgd (the recipe: Nesterov) or adam (PyTorch's Adam).",
                            choices=choices.OPTIMIZERS)
    weight_decay: float | None = option(None, "Coupled (PyTorch) weight decay; 0 for none.", lower=0.0,
                                        per_dataset="student.weight_decay")
    teacher_pool: int | None = option(None, "Members the ensemble holds; trials wrap around them, as the "
                                      "reference's select_ckpts wraps around its checkpoints (default: the "
                                      "ensemble grows to offset + m members).", lower=1)
    teacher_offset: int | None = option(None, "Use members offset .. offset+m-1 of --teacher_dir (default: "
                                        "seed * m, so that trial k takes members k*m .. k*m+m-1, as the "
                                        "reference's trial_id does).", lower=0)
    init: str = option("random", "Student initialisation: random, interpolate (--init_lambda), or the teacher's "
                       "initial weights.", choices=choices.INIT_MODES)
    init_lambda: float | None = option(None, "interpolate: lambda * teacher + (1 - lambda) * random (the "
                                       "reference's loc_param is 1 - lambda).", lower=0.0, upper=1.0)
    precision: str = option("auto", "Student precision: fp32; bf16 (Keras's mixed_bfloat16: float32 weights, "
                            "bfloat16 compute); fp16 (mixed_float16, with dynamic loss scaling); auto: bf16 with "
                            "--strategy=tpu, else fp32. Losses and metrics are float32 in every case.",
                            choices=("auto", *choices.PRECISIONS))
    teacher_precision: str | None = option(None, "Precision of the teacher ensemble's forward pass (default: "
                                           "--precision).", choices=choices.PRECISIONS)
    init_scales_lr: bool = option(True, "interpolate: start from lr * (1 - lambda), at least the final lr, as the "
                                  "reference does, so that a student started near the teacher stays in its basin.")

    def resolved(self, ensemble_architecture=None, ensemble_recipe=None, on_tpu=False):
        """Every default filled in: per-dataset values, the teacher
        architecture and recipe (explicit, else the ensemble's, which the
        caller reads from its manifest, else the dataset's), the teacher
        directory, the trial's teacher offset and the precisions (auto: bf16
        on a TPU)."""
        config = with_dataset_defaults(self, self.dataset)
        if self.lr is None and self.optimizer == "adam":
            config = dataclasses.replace(config, lr=recipes.ADAM_LR)
        teacher_arch = self.teacher_arch or ensemble_architecture or lookup(self.dataset, "architecture")
        teacher_recipe = self.teacher_recipe or ensemble_recipe or "paper"
        teacher_dir = self.teacher_dir or default_teacher_dir(
            teacher_dataset(self.dataset), teacher_arch, bool(self.distill_splits), teacher_recipe)
        precision = ("bf16" if on_tpu else "fp32") if self.precision == "auto" else self.precision
        return resolved_as(ResolvedDistillConfig, dataclasses.replace(
            config, teacher_arch=teacher_arch, teacher_dir=teacher_dir, teacher_recipe=teacher_recipe,
            precision=precision, teacher_precision=self.teacher_precision or precision,
            synth_temperature=self.synth_temperature or config.temperature,
            teacher_offset=self.seed * self.num_teachers if self.teacher_offset is None else self.teacher_offset))


@dataclasses.dataclass(frozen=True)
class ResolvedDistillConfig(DistillConfig):
    """A DistillConfig with every default filled in (DistillConfig.resolved).
    Only this type names a run or gives its recipes, so that code which needs
    the defaults cannot be handed a config without them."""

    def student_recipe(self):
        """The dataset's student recipe with this config's overrides; after
        --init=interpolate the lr starts at lr * (1 - lambda), as the
        reference's (floored at the final lr)."""
        lr = self.lr
        if self.init == "interpolate" and self.init_scales_lr and self.init_lambda is not None:
            lr = max(lr * (1.0 - self.init_lambda), for_dataset(self.dataset).student.final_lr)
        return dataclasses.replace(for_dataset(self.dataset).student, epochs=self.epochs,
                                   batch_size=self.batch_size, lr=lr, weight_decay=self.weight_decay)

    def teacher_recipe_for_new_members(self):
        """The recipe of teachers trained on first use."""
        return teacher_recipe(teacher_dataset(self.dataset), self.teacher_recipe)

    def run_name(self):
        """A readable prefix and a short hash of every field: runs that
        differ in anything that changes a result never share a directory, and
        the same run always finds its own."""
        splits = f"-{self.distill_splits.replace(',', '+')}" if self.distill_splits else ""
        samples = f"-gan{self.gan_samples}" if self.gan_samples else ""
        # Options added later are left out at their default, so that existing runs keep their directories.
        exclude = tuple(field for field, default in ADDED_LATER.items() if getattr(self, field) == default)
        return (f"{self.dataset.replace('/', '_')}-{self.teacher_arch}x{self.num_teachers}-to-{self.student_arch}-"
                f"{self.aug}{splits}{samples}-t{self.temperature:g}-s{self.seed}-{config_hash(self, exclude)}")


ADDED_LATER = {"gan_samples": None}  # field -> default


def config_hash(config, exclude=()):
    """8 hex digits of a config's fields (minus `exclude`), stable across runs and machines."""
    fields = {k: v for k, v in sorted(dataclasses.asdict(config).items()) if k not in exclude}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]


def default_teacher_dir(dataset, architecture, recycling=False, recipe="paper"):
    suffix = ("-d0" if recycling else "") + ("-reference" if recipe == "reference" else "")
    return os.path.join("runs", "teachers", f"{dataset}-{architecture}{suffix}")


# Grouping (kd_tf/jobs/distill_group.py, kd_tf/studies/sharing.py): what may differ between the
# students of one teacher pass (DistillerGroup's StudentSettings, plus the trial's offset into the pool,
# which only changes the members).
PER_STUDENT_FIELDS = ("num_teachers", "teacher_offset", "temperature", "synth_temperature", "alpha", "loss")


def why_not_grouped(config):
    """Why a distill run must run alone, or None: the group drops the stream's
    per-row temperature (each student applies its own tau to every row), so
    rows at another temperature cannot be grouped; nor can losses that read
    more than the ensemble's logits, nor synthetic rows that a run's own step
    draws (DistillerGroup has no sampler)."""
    if config.split_temperatures:
        return "a temperature per data-recycling split"
    if config.synth_temperature != config.temperature:
        return "synthetic rows at their own temperature"
    if config.loss not in choices.SOFT_LOSSES:
        return f"--loss={config.loss} is not one of the soft losses"
    if config.aug == "gan" and config.gan_sampling == "device":
        return "--gan_sampling=device draws the synthetic rows inside the run's own step"
    return None


def group_key(config):
    """Equal for two runs that may share a teacher pass: every field but the per-student ones."""
    return dataclasses.replace(config, **{field: None for field in PER_STUDENT_FIELDS})


@dataclasses.dataclass(frozen=True)
class DistillGroupConfig:
    """A study's group of distill runs that share one teacher pass
    (kd_tf/jobs/distill_group.py): each run's config and run directory."""
    configs: tuple  # DistillConfig, ... (dicts from a worker's JSON become DistillConfigs)
    directories: tuple

    def __post_init__(self):
        def config(c):
            if isinstance(c, DistillConfig):
                return c
            return DistillConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})
        object.__setattr__(self, "configs", tuple(config(c) for c in self.configs))
        object.__setattr__(self, "directories", tuple(self.directories))
        if len(self.configs) != len(self.directories):
            raise ValueError(f"{len(self.configs)} configs for {len(self.directories)} directories.")

