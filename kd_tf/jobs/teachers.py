"""Training teacher ensembles: missing members are trained one at a time,
each saved with the manifest after it, so that an interrupted ensemble keeps
what it finished and asking for more members trains only the new ones."""

import dataclasses
import os
import time

import keras
import tensorflow as tf
from absl import logging

from kd_tf.config.recipes import Recipe
from kd_tf.config.teachers import TeacherConfig
from kd_tf.data import sources
from kd_tf.data.distillation_set import teacher_split
from kd_tf.data.pipeline import supervised_dataset
from kd_tf.data.sources import stratified_subset
from kd_tf.data.stream_spec import StreamSpec, steps_per_epoch
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.models.registry import build_model
from kd_tf.train import evaluation, teacher_store
from kd_tf.train.callbacks.epoch_progress import EpochProgress
from kd_tf.train.optimizers import make_optimizer
from kd_tf.train.run_dir import resolve_path
from kd_tf.train.strategy import make_strategy


def train_member(dataset, architecture, seed, recipe, strategy, init_weights_path=None, train_split="all",
                 label=None):
    """Trains one classifier with cross-entropy and the baseline policy, on
    the whole train split or a data-recycling half of it."""
    split = stratified_subset(teacher_split(dataset.train, train_split), recipe.train_size, seed=0)
    steps = steps_per_epoch(len(split), StreamSpec("baseline", recipe.batch_size, seed, recipe.epochs))
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build_model(architecture, dataset.properties.num_classes, dataset.properties.image_shape,
                            **dataset.properties.model_kwargs())
        if init_weights_path:
            model.save_weights(init_weights_path)
        optimizer, _ = make_optimizer(recipe, steps)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=False)
    data = supervised_dataset(split, dataset.properties, recipe.batch_size, seed, recipe.epochs)
    model.fit(data, epochs=recipe.epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
              callbacks=[EpochProgress(label or f"teacher seed {seed}", recipe.epochs, ["loss", "accuracy"])])
    return model


def ensure_ensemble(teacher_dir, dataset, architecture, num_members, recipe, strategy, seed_base=0,
                    train_split="all"):
    """Returns the manifest of an ensemble with at least `num_members` members,
    training the missing ones. train_split: "all", or "d0"/"d1" for data recycling."""
    manifest = teacher_store.read_manifest(teacher_dir)
    if manifest is None:
        os.makedirs(teacher_dir, exist_ok=True)
        manifest = teacher_store.new_manifest(architecture, dataset.name, dataset.properties,
                                              recipe=dataclasses.asdict(recipe), train_split=train_split,
                                              seed_base=seed_base)
    else:
        teacher_store.check_compatible(teacher_dir, manifest, dataset.name, dataset.properties, architecture)
        if manifest.get("train_split", "all") != train_split:
            raise teacher_store.EnsembleMismatchError(
                f"The teachers in {teacher_dir} learnt from the {manifest.get('train_split', 'all')!r} part of the "
                f"train split; this run needs teachers trained on {train_split!r}. Pass another --teacher_dir."
            )
        if manifest["recipe"] is None and len(manifest["members"]) < num_members:
            raise teacher_store.EnsembleMismatchError(
                f"{teacher_dir} holds {len(manifest['members'])} imported members and no training recipe; "
                f"import more, or ask for at most {len(manifest['members'])} (--num_teachers)."
            )
        if manifest["recipe"] is not None:
            recipe = Recipe(**manifest["recipe"])  # new members match the old ones
            seed_base = manifest.get("seed_base", seed_base)
    missing = num_members - len(manifest["members"])
    if missing > 0:
        logging.info("Training %d teacher(s) into %s: %d epochs each, %s on %s", missing, teacher_dir,
                     recipe.epochs, architecture, dataset.name)
    while len(manifest["members"]) < num_members:
        index = len(manifest["members"])
        seed = seed_base + index
        label = f"teacher {index + 1}/{num_members} (seed {seed})"
        logging.info("Training %s into %s", label, teacher_dir)
        start = time.time()
        init_path = teacher_store.init_weights_path(teacher_dir, index)
        model = train_member(dataset, architecture, seed, recipe, strategy, init_path, train_split, label)
        model.save(teacher_store.member_path(teacher_dir, index))
        test = evaluation.generalisation(*evaluation.predict(model, dataset.test, dataset.properties))
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
    manifest = ensure_ensemble(teacher_dir, dataset, config.arch, num_members, config.recipe(),
                               tf.distribute.get_strategy(), seed_base=seed)
    return TeacherEnsemble(teacher_store.load_members(teacher_dir, manifest, list(range(num_members))))


def run(config, runtime):
    """experiments/train_teachers: trains what the ensemble of a TeacherConfig
    lacks; returns (its directory, its manifest)."""
    config = config.resolved()
    teacher_dir = resolve_path(config.teacher_dir)
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    dataset = sources.load(config.dataset, runtime.data_dir)
    manifest = ensure_ensemble(teacher_dir, dataset, config.arch, config.num_teachers, config.recipe(), strategy,
                               seed_base=config.seed, train_split=config.train_split)
    return teacher_dir, manifest
