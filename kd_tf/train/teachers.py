"""Teacher ensembles as artifacts: a directory of independently trained
members and a manifest.

  <teacher_dir>/manifest.json        architecture, dataset, recipe, members
  <teacher_dir>/member_<i>.keras     trained member
  <teacher_dir>/member_<i>.init.weights.h5   its initial weights

Members are written one at a time and the manifest after each, so an
interrupted ensemble keeps what it finished; asking for more members than a
directory holds trains only the missing ones.
"""

import dataclasses
import json
import os
import time

import keras
from absl import logging

from kd_tf.data import sources
from kd_tf.errors import UserError
from kd_tf.data.distillation_set import teacher_split
from kd_tf.data.pipeline import StreamSpec, steps_per_epoch, supervised_dataset
from kd_tf.models import build_model
from kd_tf.train import evaluation
from kd_tf.train.logging import EpochProgress
from kd_tf.train.optimizers import TorchAdam, TorchSGD
from kd_tf.train.recipes import Recipe
from kd_tf.train.schedules import EpochCosineDecay

MANIFEST = "manifest.json"


class EnsembleMismatchError(UserError):
    pass


def member_path(teacher_dir, index):
    return os.path.join(teacher_dir, f"member_{index}.keras")


def read_manifest(teacher_dir):
    path = os.path.join(teacher_dir, MANIFEST)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_manifest(teacher_dir, manifest):
    tmp = os.path.join(teacher_dir, MANIFEST + ".tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, os.path.join(teacher_dir, MANIFEST))


def make_optimizer(recipe, steps, kind="sgd"):
    """The recipe's optimizer with PyTorch semantics and a per-epoch schedule."""
    schedule = EpochCosineDecay(recipe.lr, recipe.final_lr, recipe.epochs, steps, recipe.warmup_epochs)
    if kind == "adam":
        return TorchAdam(schedule, coupled_weight_decay=recipe.weight_decay), schedule
    optimizer = TorchSGD(schedule, momentum=recipe.momentum, nesterov=recipe.nesterov,
                         coupled_weight_decay=recipe.weight_decay)
    return optimizer, schedule


def train_member(dataset, architecture, seed, recipe, strategy, init_weights_path=None, train_split="all"):
    """Trains one classifier with cross-entropy and the baseline policy, on
    the whole train split or a data-recycling half of it."""
    split = sources.stratified_subset(teacher_split(dataset.train, train_split), recipe.train_size, seed=0)
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
    model.fit(data, epochs=recipe.epochs, steps_per_epoch=steps, verbose=0,
              callbacks=[EpochProgress(f"teacher seed {seed}", recipe.epochs, ["loss", "accuracy"])])
    return model


def ensure_ensemble(teacher_dir, dataset, architecture, num_members, recipe, strategy, seed_base=0,
                    train_split="all"):
    """Returns the manifest of an ensemble with at least `num_members` members,
    training the missing ones. train_split: "all", or "d0"/"d1" for data recycling."""
    manifest = read_manifest(teacher_dir)
    if manifest is None:
        os.makedirs(teacher_dir, exist_ok=True)
        manifest = {
            "architecture": architecture,
            "dataset": dataset.name,
            "train_split": train_split,
            "num_classes": dataset.properties.num_classes,
            "input_shape": list(dataset.properties.image_shape),
            "recipe": dataclasses.asdict(recipe),
            "seed_base": seed_base,  # member i has seed seed_base + i, whoever adds it
            "members": [],
        }
    else:
        check_compatible(teacher_dir, manifest, dataset.name, dataset.properties, architecture)
        if manifest.get("train_split", "all") != train_split:
            raise EnsembleMismatchError(
                f"The teachers in {teacher_dir} learnt from the {manifest.get('train_split', 'all')!r} part of the "
                f"train split; this run needs teachers trained on {train_split!r}. Pass another --teacher_dir."
            )
        if manifest["recipe"] is None and len(manifest["members"]) < num_members:
            raise EnsembleMismatchError(
                f"{teacher_dir} holds {len(manifest['members'])} imported members and no training recipe; "
                f"import more, or ask for at most {len(manifest['members'])} (--num_teachers)."
            )
        if manifest["recipe"] is not None:
            recipe = Recipe(**manifest["recipe"])  # new members match the old ones
            seed_base = manifest.get("seed_base", seed_base)
    while len(manifest["members"]) < num_members:
        index = len(manifest["members"])
        seed = seed_base + index
        logging.info("Training teacher %d/%d (seed %d) into %s", index + 1, num_members, seed, teacher_dir)
        start = time.time()
        init_path = os.path.join(teacher_dir, f"member_{index}.init.weights.h5")
        model = train_member(dataset, architecture, seed, recipe, strategy, init_path, train_split)
        model.save(member_path(teacher_dir, index))
        test = evaluation.generalisation(*evaluation.predict(model, dataset.test, dataset.properties))
        manifest["members"].append({
            "file": os.path.basename(member_path(teacher_dir, index)),
            "init_weights": os.path.basename(init_path),
            "seed": seed,
            "train_seconds": round(time.time() - start, 1),
            "test": test,
        })
        _write_manifest(teacher_dir, manifest)
        logging.info("Teacher %d: test accuracy %.2f%%, NLL %.4f, ECE %.2f%%", index,
                     test["accuracy"], test["nll"], test["ece"])
    return manifest


def check_compatible(teacher_dir, manifest, dataset_name, properties, architecture=None):
    """Fails fast, naming the directory, when an ensemble cannot serve this run."""
    problems = []
    if manifest.get("num_classes") != properties.num_classes:
        problems.append(f"it predicts {manifest.get('num_classes')} classes, {dataset_name} has "
                        f"{properties.num_classes}")
    if tuple(manifest.get("input_shape", ())) != tuple(properties.image_shape):
        problems.append(f"its input shape is {tuple(manifest.get('input_shape', ()))}, {dataset_name} "
                        f"images are {tuple(properties.image_shape)}")
    if architecture and manifest.get("architecture") != architecture:
        problems.append(f"its architecture is {manifest.get('architecture')}, not {architecture}")
    if problems:
        raise EnsembleMismatchError(
            f"The teacher ensemble in {teacher_dir} does not fit this run: {'; '.join(problems)}. "
            "Pass another --teacher_dir (an empty one trains a new ensemble)."
        )


def member_indices(manifest, num_members, offset=0):
    """Members offset .. offset+m-1, wrapping around the directory's members, so
    that trials can use disjoint teacher sets (--teacher_offset)."""
    count = len(manifest["members"])
    if count < num_members:
        raise EnsembleMismatchError(f"The ensemble holds {count} members, {num_members} were asked for.")
    return [(offset + i) % count for i in range(num_members)]


def load_members(teacher_dir, manifest, indices):
    return [keras.saving.load_model(os.path.join(teacher_dir, manifest["members"][i]["file"]), compile=False)
            for i in indices]


def add_imported_member(teacher_dir, model, architecture, dataset_name, source, save):
    """Adds an imported model (e.g. a reference checkpoint) as the next member."""
    properties = sources.PROPERTIES[dataset_name]
    manifest = read_manifest(teacher_dir)
    if manifest is None:
        os.makedirs(teacher_dir, exist_ok=True)
        manifest = {"architecture": architecture, "dataset": dataset_name, "train_split": "all",
                    "num_classes": properties.num_classes, "input_shape": list(properties.image_shape),
                    "recipe": None, "members": []}
    check_compatible(teacher_dir, manifest, dataset_name, properties, architecture)
    if model.num_classes != manifest["num_classes"]:
        raise EnsembleMismatchError(f"The imported model predicts {model.num_classes} classes; "
                                    f"{teacher_dir} holds {manifest['num_classes']}-class members.")
    index = len(manifest["members"])
    path = member_path(teacher_dir, index)
    save(model, path)
    manifest["members"].append({"file": os.path.basename(path), "seed": None, "source": source, "test": None})
    _write_manifest(teacher_dir, manifest)
    return path
