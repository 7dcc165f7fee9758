"""Training teacher ensembles: missing members are trained one at a time,
each saved with the manifest after it, so that an interrupted ensemble keeps
what it finished and asking for more members trains only the new ones."""

import dataclasses
import os
import time

import keras
import tensorflow as tf
from absl import logging

from kd_tf.config.datasets import teacher_dataset
from kd_tf.config.recipes import Recipe
from kd_tf.config.teachers import TeacherConfig
from kd_tf.data import distillation_set, sources
from kd_tf.data.distillation_set import RecyclingSplit, teacher_split
from kd_tf.data.pipeline import supervised_dataset
from kd_tf.data.sources import SUBSET_SEED, stratified_subset
from kd_tf.data.stream_spec import StreamSpec, steps_per_epoch
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.errors import UserError
from kd_tf.models.layers import synchronized_batch_norm
from kd_tf.models.registry import build_model
from kd_tf.train import accelerator, evaluation, teacher_store
from kd_tf.train.callbacks.epoch_progress import EpochProgress
from kd_tf.train.optimizers import make_optimizer
from kd_tf.train.run_dir import resolve_path
from kd_tf.train.strategy import make_strategy


@dataclasses.dataclass(frozen=True)
class EnsembleSpec:
    """What the members of a teacher directory are: architecture, training
    recipe (and its name), the part of the train split they learn from and
    how that split was made, and the seed of member 0."""
    architecture: str
    recipe: Recipe
    recipe_name: str = "paper"
    train_split: str = "all"  # or "d0"/"d1" (data recycling)
    recycling: RecyclingSplit = RecyclingSplit()
    seed_base: int = 0
    recipe_requested: bool = False  # an explicit --teacher_recipe must match an existing ensemble's
    # How members train, not what they are (kd_tf.train.accelerator resolves them).
    jit_compile: bool = False
    sync_batchnorm: bool = False


def train_member(dataset, spec, seed, strategy, init_weights_path=None, label=None):
    """Trains one classifier with cross-entropy and the baseline policy, on
    the whole train split or a data-recycling half of it."""
    recipe = spec.recipe
    split = stratified_subset(teacher_split(dataset.train, spec.train_split, spec.recycling), recipe.train_size,
                              seed=SUBSET_SEED)
    steps = steps_per_epoch(len(split), StreamSpec("baseline", recipe.batch_size, seed, recipe.epochs))
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        with synchronized_batch_norm(spec.sync_batchnorm):
            model = build_model(spec.architecture, dataset.properties.num_classes, dataset.properties.image_shape,
                                **dataset.properties.model_kwargs())
        if init_weights_path:
            model.save_weights(init_weights_path)
        optimizer, _ = make_optimizer(recipe, steps)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=spec.jit_compile)
    data = supervised_dataset(split, dataset.properties, recipe.batch_size, seed, recipe.epochs)
    model.fit(data, epochs=recipe.epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
              callbacks=[EpochProgress(label or f"teacher seed {seed}", recipe.epochs, ["loss", "accuracy"])])
    return model


def _check_existing(teacher_dir, manifest, dataset, spec, num_members):
    """An existing ensemble serves this spec, or a UserError says why not."""
    teacher_store.check_compatible(teacher_dir, manifest, dataset.name, dataset.properties, spec.architecture)
    mismatch = teacher_store.EnsembleMismatchError
    if manifest.get("train_split", "all") != spec.train_split:
        raise mismatch(
            f"The teachers in {teacher_dir} learnt from the {manifest.get('train_split', 'all')!r} part of the "
            f"train split; this run needs teachers trained on {spec.train_split!r}. Pass another --teacher_dir.")
    if spec.train_split != "all" and manifest.get("split", RecyclingSplit().describe()) != spec.recycling.describe():
        raise mismatch(
            f"The teachers in {teacher_dir} learnt from a D0 made by {manifest.get('split')!r}; this run's D0 is "
            f"made by {spec.recycling.describe()!r} (--split_indices). Pass the teachers' split, or another "
            "--teacher_dir.")
    if manifest["recipe"] is None and len(manifest["members"]) < num_members:
        raise mismatch(f"{teacher_dir} holds {len(manifest['members'])} imported members and no training recipe; "
                       f"import more, or ask for at most {len(manifest['members'])} (--num_teachers).")
    existing = manifest.get("recipe_name", "paper") if manifest["recipe"] is not None else None
    if spec.recipe_requested and existing and existing != spec.recipe_name:
        raise mismatch(f"The teachers in {teacher_dir} were trained with the {existing} recipe, not "
                       f"--teacher_recipe={spec.recipe_name}. Pass another --teacher_dir.")


def ensure_ensemble(teacher_dir, dataset, spec, num_members, strategy):
    """Returns the manifest of an ensemble with at least `num_members` members,
    training the missing ones as `spec` (an EnsembleSpec) says; members added
    to an existing ensemble follow its recipe and seeds."""
    manifest = teacher_store.read_manifest(teacher_dir)
    if manifest is None:
        os.makedirs(teacher_dir, exist_ok=True)
        manifest = teacher_store.new_manifest(spec.architecture, dataset.name, dataset.properties,
                                              recipe=dataclasses.asdict(spec.recipe), train_split=spec.train_split,
                                              seed_base=spec.seed_base)
        manifest["recipe_name"] = spec.recipe_name
        if spec.train_split != "all":
            manifest["split"] = spec.recycling.describe()
    else:
        _check_existing(teacher_dir, manifest, dataset, spec, num_members)
        if manifest["recipe"] is not None:  # new members match the old ones
            spec = dataclasses.replace(spec, recipe=Recipe(**manifest["recipe"]),
                                       recipe_name=manifest.get("recipe_name", "paper"),
                                       seed_base=manifest.get("seed_base", spec.seed_base))
    missing = num_members - len(manifest["members"])
    if missing > 0:
        logging.info("Training %d teacher(s) into %s: %s, %s recipe (%d epochs, batch %d, lr %g), on %s",
                     missing, teacher_dir, spec.architecture, spec.recipe_name, spec.recipe.epochs,
                     spec.recipe.batch_size, spec.recipe.lr, dataset.name)
    while len(manifest["members"]) < num_members:
        index = len(manifest["members"])
        seed = spec.seed_base + index
        label = f"teacher {index + 1}/{num_members} (seed {seed})"
        logging.info("Training %s into %s", label, teacher_dir)
        start = time.time()
        init_path = teacher_store.init_weights_path(teacher_dir, index)
        model = train_member(dataset, spec, seed, strategy, init_path, label)
        model.save(teacher_store.member_path(teacher_dir, index))
        test = evaluation.generalisation(*evaluation.predict(model, dataset.test, dataset.properties,
                                                             strategy=strategy))
        manifest["members"].append({
            "file": os.path.basename(teacher_store.member_path(teacher_dir, index)),
            "init_weights": os.path.basename(init_path),
            "seed": seed,
            "train_seconds": round(time.time() - start, 1),
            "test": test,
        })
        teacher_store.write_manifest(teacher_dir, manifest)
        logging.info("Teacher %d: test accuracy %.2f%%, NLL %.4f, ECE %.2f%%", index,
                     test["accuracy"], test["nll"], test["ece"])
    return manifest


def train_ensemble(teacher_dir, dataset, num_members=3, architecture=None, epochs=None, seed=0):
    """A TeacherEnsemble of `num_members` members in teacher_dir, training the
    missing ones with the dataset's teacher recipe (epochs overridden if
    given), on the default device. Library use; the binary is `run`."""
    config = TeacherConfig(dataset=dataset.name, arch=architecture, num_teachers=num_members, epochs=epochs,
                           seed=seed, teacher_dir=teacher_dir).resolved()
    spec = EnsembleSpec(config.arch, config.training_recipe(), config.teacher_recipe, seed_base=seed)
    manifest = ensure_ensemble(teacher_dir, dataset, spec, num_members, tf.distribute.get_strategy())
    return TeacherEnsemble(teacher_store.load_members(teacher_dir, manifest, list(range(num_members))))


def run(config, runtime):
    """experiments/train_teachers: trains what the ensemble of a TeacherConfig
    lacks; returns (its directory, its manifest)."""
    if teacher_dataset(config.dataset) != config.dataset:
        raise UserError(f"--dataset={config.dataset} distils teachers trained on {teacher_dataset(config.dataset)}: "
                        f"train them with --dataset={teacher_dataset(config.dataset)}.")
    requested = config.teacher_recipe is not None
    existing = teacher_store.read_manifest(resolve_path(config.teacher_dir)) if config.teacher_dir else None
    config = config.resolved(existing.get("recipe_name") if existing else None)
    teacher_dir = resolve_path(config.teacher_dir)
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    dataset = sources.load(config.dataset, runtime.data_dir)
    recycling = (distillation_set.read_split_indices(resolve_path(config.split_indices), len(dataset.train))
                 if config.split_indices else RecyclingSplit())
    spec = EnsembleSpec(config.arch, config.training_recipe(), config.teacher_recipe, config.train_split, recycling,
                        config.seed, recipe_requested=requested,
                        jit_compile=accelerator.jit_compile(runtime.jit_compile, strategy),
                        sync_batchnorm=accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy))
    return teacher_dir, ensure_ensemble(teacher_dir, dataset, spec, config.num_teachers, strategy)
