"""A study's runs in dependency order, which are finished, and what the
rest would cost: the --dry_run listing. Free of TensorFlow."""

import json
import os

from kd_tf.config.paths import resolve_path

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
             "preresnet20_layernorm": 0.4, "preresnet56": 1.0, "preresnet56_layernorm": 1.1, "preresnet110": 2.0, "vgg16": 2.0,
             "resnet50": 3.0}
TRAIN_SIZES = {"cifar10": 50_000, "cifar100": 50_000, "svhn_cropped": 73_257, "mnist": 60_000,
               "emnist_for_mnist": 697_932, "imdb_reviews": 25_000, "imagenet2012": 1_281_167, "mnist5k": 4_000}


def is_finished(run):
    """Whether a run's results are on disk (a finished run is never redone)."""
    directory = resolve_path(run.directory)
    if run.kind == "teachers":
        try:
            with open(os.path.join(directory, "manifest.json")) as f:
                return len(json.load(f)["members"]) >= run.config.num_teachers
        except (OSError, ValueError, KeyError):
            return False
    if run.kind == "evaluate":
        return os.path.exists(resolve_path(run.config.output) + ".json")
    return os.path.exists(os.path.join(directory, "results.json"))


def existing_members(run):
    try:
        with open(os.path.join(resolve_path(run.directory), "manifest.json")) as f:
            return len(json.load(f)["members"])
    except (OSError, ValueError, KeyError):
        return 0


def _hours(image_epochs, cost):
    return GPU_HOURS_PER_RUN * image_epochs / PAPER_IMAGE_EPOCHS * cost / PAPER_RUN_COST


def gpu_hours(run):
    """A rough estimate of a run's GPU-hours at the paper's scale."""
    config = run.config
    if run.kind == "teachers":
        recipe = config.training_recipe()
        size = recipe.train_size or TRAIN_SIZES.get(config.dataset, 50_000)
        missing = max(config.num_teachers - existing_members(run), 0)
        return missing * _hours(recipe.epochs * size, ARCH_COST.get(config.arch, 1.0))
    if run.kind == "distill":
        size = TRAIN_SIZES.get(config.dataset, 50_000) * (config.data_fraction or 1.0) + (config.gan_samples or 0)
        cost = ARCH_COST.get(config.student_arch, 1.0) + config.num_teachers * ARCH_COST.get(config.teacher_arch,
                                                                                               1.0) / 3
        return _hours(config.epochs * size, cost)
    if run.kind == "gan":
        return GPU_HOURS_PER_RUN * config.gen_steps / 100_000  # about a run's worth for the paper's 100k steps
    return 0.0


def describe(run):
    """One line of the plan."""
    config = run.config
    if run.kind == "teachers":
        what = f"{config.num_teachers} x {config.arch} on {config.dataset} ({config.teacher_recipe} recipe)"
    elif run.kind == "gan":
        what = f"SN-GAN on {config.dataset}, {config.gen_steps} generator steps"
    elif run.kind == "distill":
        what = (f"{config.num_teachers} x {config.teacher_arch} -> {config.student_arch}, --aug={config.aug}, "
                + (f"+{config.gan_samples} SN-GAN samples, " if config.gan_samples else "") + f"tau {config.temperature:g}, {config.epochs} epochs, seed {config.seed}")
    else:
        what = f"independent student for {os.path.basename(run.needs[0])}"
    labels = ", ".join(f"{k}={v}" for k, v in run.labels)
    return f"{run.kind:<9} {what}" + (f"  [{labels}]" if labels else "")


def plan_text(study, finished):
    """The --dry_run listing: every run, whether it is done, and the estimate."""
    count = len(study.runs)
    lines = [f"study {study.name} ({study.reproduces}), scale {study.scale}: {count} run{'' if count == 1 else 's'}, "
             f"{sum(finished.values())} finished"]
    hours = 0.0
    for run in study.runs:
        done = finished[run.directory]
        if not done:
            hours += gpu_hours(run)
        lines.append(f"  {'done' if done else 'todo'}  {describe(run)}\n        {run.directory}")
    if study.scale == "paper":
        lines.append(f"estimate: about {hours:,.0f} GPU-hours for what is left (the paper's 10 GPU-hours per "
                     "300-epoch CIFAR-100 run, scaled by image-epochs and network cost; a rough figure, not a "
                     "measurement)")
    return "\n".join(lines)
