"""Training teacher ensembles: missing members are trained one at a time,
each saved with the manifest after it, so that an interrupted ensemble keeps
what it finished and asking for more members trains only the new ones. A
member in training checkpoints every epoch (member_<i>.checkpoints/) and
resumes from there; a member whose file was deleted is trained again."""

import dataclasses
import os
import time

import keras
import tensorflow as tf
from absl import logging

from kd_tf.config.datasets import teacher_dataset
from kd_tf.config.paths import resolve_path
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
from kd_tf.train import accelerator, evaluation, storage, teacher_store, workers
from kd_tf.train.callbacks.epoch_progress import EpochProgress
from kd_tf.train.callbacks.preemption import SaveOnPreemption
from kd_tf.train.checkpoints import Checkpoints, has_checkpoint
from kd_tf.train.keras_workarounds import fit_on_distributed_data
from kd_tf.train.optimizers import make_optimizer
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
    member_subsets: bool = False  # with a train_size: member seed s learns from the subset of seed s
    recipe_requested: bool = False  # an explicit --teacher_recipe must match an existing ensemble's
    # How members train, not what they are (kd_tf.train.accelerator resolves them).
    jit_compile: bool = False
    sync_batchnorm: bool = False


def train_member(dataset, spec, seed, strategy, init_weights_path=None, label=None, checkpoint_dir=None):
    """Trains one classifier with cross-entropy and the baseline policy, on
    the whole train split or a data-recycling half of it; with a
    checkpoint_dir, saves every epoch (and the step reached on SIGTERM) there
    and resumes from it."""
    recipe = spec.recipe
    label = label or f"teacher seed {seed}"
    chief = workers.is_chief(strategy)
    split = stratified_subset(teacher_split(dataset.train, spec.train_split, spec.recycling), recipe.train_size,
                              seed=seed if spec.member_subsets else SUBSET_SEED)
    steps = steps_per_epoch(len(split), StreamSpec("baseline", recipe.batch_size, seed, recipe.epochs),
                            strategy.num_replicas_in_sync)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        with synchronized_batch_norm(spec.sync_batchnorm):
            model = build_model(spec.architecture, dataset.properties.num_classes, dataset.properties.image_shape,
                                **dataset.properties.model_kwargs())
        if init_weights_path and chief and not (checkpoint_dir and has_checkpoint(checkpoint_dir)):
            model.save_weights(init_weights_path)
        optimizer, _ = make_optimizer(recipe, steps)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=spec.jit_compile)
        optimizer.build(model.trainable_variables)  # so that a checkpoint restores its slots
        fit_on_distributed_data(model)
    callbacks = [EpochProgress(label, recipe.epochs, ["loss", "accuracy"])]
    start_step, preemption = 0, None
    if checkpoint_dir:  # checkpoints numbered by the optimizer's step
        saved = Checkpoints(checkpoint_dir, chief, model=model, optimizer=optimizer)

        def save_now():
            saved.save(int(optimizer.iterations.numpy()))

        start_step = saved.restore()
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: save_now()))
        preemption = SaveOnPreemption(strategy, save_now, label)
        callbacks.append(preemption)
    start_epoch, step_in_epoch = divmod(start_step, steps)
    if start_step:
        logging.info("Resuming %s at epoch %d, step %d of %d (%s)", label, start_epoch + 1, step_in_epoch, steps,
                     saved.restored)

    def fit(first_epoch, last_epoch, epoch_steps, skip_steps=0):
        # Each worker builds only its own input pipelines' batches.
        data = strategy.distribute_datasets_from_function(
            lambda context: supervised_dataset(split, dataset.properties, recipe.batch_size, seed, recipe.epochs,
                                               first_epoch, context, skip_steps))
        model.fit(data, epochs=last_epoch, initial_epoch=first_epoch, steps_per_epoch=epoch_steps, verbose=0,
                  shuffle=False, callbacks=callbacks)

    try:
        if step_in_epoch:  # stopped mid-epoch (SIGTERM): finish that epoch from its next batch first
            fit(start_epoch, start_epoch + 1, steps - step_in_epoch, step_in_epoch)
            start_epoch += 1
        if start_epoch < recipe.epochs:
            fit(start_epoch, recipe.epochs, steps)
    finally:
        if preemption is not None:
            preemption.close()
    return model


def _check_existing(teacher_dir, manifest, dataset, spec, num_members):
    """An existing ensemble serves this spec, or a UserError says why not."""
    teacher_store.check_compatible(teacher_dir, manifest, dataset.name, dataset.properties, spec.architecture)
    mismatch = teacher_store.EnsembleMismatchError
    if manifest.train_split != spec.train_split:
        raise mismatch(
            f"The teachers in {teacher_dir} learnt from the {manifest.train_split!r} part of the "
            f"train split; this run needs teachers trained on {spec.train_split!r}. Pass another --teacher_dir.")
    if spec.train_split != "all" and (manifest.split or RecyclingSplit().describe()) != spec.recycling.describe():
        raise mismatch(
            f"The teachers in {teacher_dir} learnt from a D0 made by {manifest.split!r}; this run's D0 is "
            f"made by {spec.recycling.describe()!r} (--split_indices). Pass the teachers' split, or another "
            "--teacher_dir.")
    if spec.member_subsets and not manifest.member_subsets:
        raise mismatch(f"The teachers in {teacher_dir} all learnt from one subset; --member_subsets asks for one "
                       "subset per member. Pass another --teacher_dir.")
    if not manifest.trained and len(manifest.members) < num_members:
        raise mismatch(f"{teacher_dir} holds {len(manifest.members)} imported members and no training recipe; "
                       f"import more, or ask for at most {len(manifest.members)} (--num_teachers).")
    existing = (manifest.recipe_name or "paper") if manifest.trained else None
    if spec.recipe_requested and existing and existing != spec.recipe_name:
        raise mismatch(f"The teachers in {teacher_dir} were trained with the {existing} recipe, not "
                       f"--teacher_recipe={spec.recipe_name}. Pass another --teacher_dir.")


def ensure_ensemble(teacher_dir, dataset, spec, num_members, strategy):
    """Returns the manifest of an ensemble with at least `num_members` members,
    training the missing ones as `spec` (an EnsembleSpec) says; members added
    to an existing ensemble follow its recipe and seeds."""
    return grow_ensemble(teacher_dir, teacher_store.read_manifest(teacher_dir), dataset, spec, num_members, strategy)


def grow_ensemble(teacher_dir, manifest, dataset, spec, num_members, strategy):
    """ensure_ensemble, for a caller that has read the manifest already (None: no ensemble yet)."""
    chief = workers.is_chief(strategy)
    if manifest is None:
        if chief:
            storage.makedirs(teacher_dir)
        manifest = teacher_store.new_manifest(
            spec.architecture, dataset.name, dataset.properties, recipe=dataclasses.asdict(spec.recipe),
            train_split=spec.train_split, seed_base=spec.seed_base, recipe_name=spec.recipe_name,
            split=spec.recycling.describe() if spec.train_split != "all" else None,
            member_subsets=spec.member_subsets)
    else:
        _check_existing(teacher_dir, manifest, dataset, spec, num_members)
        if manifest.trained:  # new members match the old ones
            spec = dataclasses.replace(spec, recipe=Recipe(**manifest.recipe),
                                       recipe_name=manifest.recipe_name or "paper",
                                       seed_base=spec.seed_base if manifest.seed_base is None else manifest.seed_base,
                                       member_subsets=manifest.member_subsets)
    # Trained members whose file is gone (deleted because it was damaged) are trained again, with their seed.
    lost = [i for i, member in enumerate(manifest.members[:num_members])
            if manifest.trained and not storage.exists(os.path.join(teacher_dir, member.file))]
    todo = lost + list(range(len(manifest.members), num_members))
    if todo:
        logging.info("Training %d teacher(s) into %s: %s, %s recipe (%d epochs, batch %d, lr %g), on %s",
                     len(todo), teacher_dir, spec.architecture, spec.recipe_name, spec.recipe.epochs,
                     spec.recipe.batch_size, spec.recipe.lr, dataset.name)
    for index in todo:
        seed = spec.seed_base + index
        label = f"teacher {index + 1}/{num_members} (seed {seed})"
        logging.info("Training %s into %s%s", label, teacher_dir, " (its file was missing)" if index in lost else "")
        start = time.time()
        init_path = teacher_store.init_weights_path(teacher_dir, index)
        checkpoint_dir = teacher_store.member_checkpoints_path(teacher_dir, index)
        model = train_member(dataset, spec, seed, strategy, init_path, label, checkpoint_dir)
        workers.save_as_chief(strategy, teacher_store.member_path(teacher_dir, index), model.save)
        test = evaluation.generalisation(*evaluation.predict(model, dataset.test, dataset.properties,
                                                             strategy=strategy))
        member = teacher_store.Member(os.path.basename(teacher_store.member_path(teacher_dir, index)), seed, test,
                                      init_weights=os.path.basename(init_path),
                                      train_seconds=round(time.time() - start, 1))
        if index < len(manifest.members):
            manifest.members[index] = member
        else:
            manifest.members.append(member)
        if chief:
            teacher_store.write_manifest(teacher_dir, manifest)
            storage.rmtree(checkpoint_dir)  # the member is saved: its epochs are no longer needed
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
    config = config.resolved(existing.recipe_name if existing else None)
    teacher_dir = resolve_path(config.teacher_dir)
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    dataset = sources.load(config.dataset, runtime.data_dir)
    recycling = (distillation_set.read_split_indices(resolve_path(config.split_indices), len(dataset.train))
                 if config.split_indices else RecyclingSplit())
    spec = EnsembleSpec(config.arch, config.training_recipe(), config.teacher_recipe, config.train_split, recycling,
                        config.seed, member_subsets=config.member_subsets, recipe_requested=requested,
                        jit_compile=accelerator.jit_compile(runtime.jit_compile, strategy),
                        sync_batchnorm=accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy))
    return teacher_dir, ensure_ensemble(teacher_dir, dataset, spec, config.num_teachers, strategy)


def execute(config, runtime):
    """A study's teachers job (kd_tf.jobs.kinds): run, into config.teacher_dir."""
    run(config, runtime)
