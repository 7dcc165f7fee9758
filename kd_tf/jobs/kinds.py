"""The kinds of job kd_tf runs, in one table: for each, its config type, its
binary and the Runtime flags that binary takes, the module whose
`execute(config, runtime)` runs it, whether a run directory holds a finished
run, its one-line description in a plan and a rough cost at the paper's scale. The study
planner, the study worker and the command line read this table rather than
choosing by the kind's name. Free of TensorFlow: planning and flag checks
never load it (the job modules themselves do)."""

import dataclasses
import json
import os
from collections.abc import Callable

from kd_tf.config.distill import DistillConfig, DistillGroupConfig
from kd_tf.config.evaluate import EvaluateConfig
from kd_tf.config.gan import GanConfig
from kd_tf.config.paths import resolve_path
from kd_tf.config.teachers import TeacherConfig

# The paper's own figure (appendix D): about 10 GPU-hours per seed of a variant: a
# 300-epoch CIFAR-100 student of 50,000 images, ResNet-56, with 5 ResNet-56 teachers.
# Estimates scale it by image-epochs and by each network's cost relative to
# PreResNet-56 (a training step; a teacher's forward pass counts a third of one).
GPU_HOURS_PER_RUN = 10.0
PAPER_IMAGE_EPOCHS = 300 * 50_000
PAPER_RUN_COST = 1.0 + 5 / 3
# Rough per-image training cost relative to PreResNet-56; resnet50 (224 px) is set so that a
# 90-epoch ImageNet run comes to about 230 GPU-hours, a common V100 figure.
ARCH_COST = {"lenet5": 0.02, "bilstm": 0.1, "preresnet8": 0.1, "preresnet14": 0.2, "preresnet20": 0.35,
             "preresnet20_layernorm": 0.4, "preresnet56": 1.0, "preresnet56_layernorm": 1.1, "preresnet110": 2.0,
             "vgg16": 2.0, "resnet50": 3.0}
TRAIN_SIZES = {"cifar10": 50_000, "cifar100": 50_000, "svhn_cropped": 73_257, "mnist": 60_000,
               "emnist_for_mnist": 697_932, "imdb_reviews": 25_000, "imagenet2012": 1_281_167, "mnist5k": 4_000}


@dataclasses.dataclass(frozen=True)
class Job:
    kind: str
    binary: str | None  # experiments/<binary>.py (None: a study's job only)
    config: type  # its config dataclass (kd_tf.config)
    runtime_flags: tuple | None  # the Runtime fields its binary takes as flags (None: all)
    module: str  # the kd_tf.jobs module whose execute(config, runtime) runs it (loads TensorFlow)
    is_finished: Callable  # (config, directory) -> bool: its results are on disk, never redone
    describe: Callable  # (config, needs) -> str: one line of a study's plan
    gpu_hours: Callable  # (config, directory) -> float: what is left of it, at the paper's scale


def hours(image_epochs, cost):
    """GPU-hours at the paper's scale of `image_epochs` at `cost` per image (PreResNet-56 step: 1)."""
    return GPU_HOURS_PER_RUN * image_epochs / PAPER_IMAGE_EPOCHS * cost / PAPER_RUN_COST


def existing_members(directory):
    """How many members the ensemble in `directory` holds already (0: none, or no manifest)."""
    try:
        with open(os.path.join(resolve_path(directory), "manifest.json")) as f:
            return len(json.load(f)["members"])
    except (OSError, ValueError, KeyError):
        return 0


def _results_written(config, directory):
    return os.path.exists(os.path.join(resolve_path(directory), "results.json"))


def _teachers_finished(config, directory):
    return existing_members(directory) >= config.num_teachers


def _teachers_hours(config, directory):
    recipe = config.training_recipe()
    size = recipe.train_size or TRAIN_SIZES.get(config.dataset, 50_000)
    missing = max(config.num_teachers - existing_members(directory), 0)
    return missing * hours(recipe.epochs * size, ARCH_COST.get(config.arch, 1.0))


def distill_image_epochs(config):
    size = TRAIN_SIZES.get(config.dataset, 50_000) * (config.data_fraction or 1.0) + (config.gan_samples or 0)
    return config.epochs * size


def _distill_hours(config, directory):
    cost = (ARCH_COST.get(config.student_arch, 1.0)
            + config.num_teachers * ARCH_COST.get(config.teacher_arch, 1.0) / 3)
    return hours(distill_image_epochs(config), cost)


def _describe_distill(config, needs):
    gan = f"+{config.gan_samples} SN-GAN samples, " if config.gan_samples else ""
    return (f"{config.num_teachers} x {config.teacher_arch} -> {config.student_arch}, --aug={config.aug}, {gan}"
            f"tau {config.temperature:g}, {config.epochs} epochs, seed {config.seed}")


def _group_finished(config, directory):
    return all(_results_written(c, d) for c, d in zip(config.configs, config.directories))


def _describe_group(config, needs):
    return f"{len(config.configs)} students sharing one teacher pass: " + "; ".join(
        f"m {c.num_teachers} tau {c.temperature:g}" for c in config.configs)


JOBS = {job.kind: job for job in (
    Job("teachers", "train_teachers", TeacherConfig, ("data_dir", "strategy", "tpu", "jit_compile", "sync_batchnorm"),
        "kd_tf.jobs.teachers",
        _teachers_finished,
        lambda c, needs: f"{c.num_teachers} x {c.arch} on {c.dataset} ({c.teacher_recipe} recipe)",
        _teachers_hours),
    Job("gan", "train_gan", GanConfig, ("data_dir", "output_dir", "strategy", "tpu", "sync_batchnorm"),
        "kd_tf.jobs.gan",
        _results_written,
        lambda c, needs: f"SN-GAN on {c.dataset}, {c.gen_steps} generator steps",
        # about a run's worth for the paper's 100k generator steps
        lambda c, directory: GPU_HOURS_PER_RUN * c.gen_steps / 100_000),
    Job("distill", "distill", DistillConfig, None,
        "kd_tf.jobs.distill",
        _results_written, _describe_distill, _distill_hours),
    # Its students' hours alone: an upper bound (the shared estimate is kd_tf/studies/sharing.py's).
    Job("distill_group", None, DistillGroupConfig, None,
        "kd_tf.jobs.distill_group", _group_finished, _describe_group,
        lambda c, directory: sum(_distill_hours(s, d) for s, d in zip(c.configs, c.directories))),
    Job("evaluate", "evaluate", EvaluateConfig, ("data_dir", "strategy", "tpu"),
        "kd_tf.jobs.evaluate",
        lambda c, directory: os.path.exists(resolve_path(c.output) + ".json"),
        lambda c, needs: f"independent student for {os.path.basename(needs[0])}",
        lambda c, directory: 0.0),
)}
