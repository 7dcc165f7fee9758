"""What a student distils on, before augmentation: real training rows (all of
them, a fraction, or data-recycling splits D0/D1), plus unlabelled
out-of-domain rows, each row with its own temperature.

Rows without a true label carry label -1. With two recycling splits the set
has two parts, and every batch takes a fixed number of rows from each (as the
reference's DistillLoader does: 64 + 64 of 128 for two equal halves).
"""

import dataclasses
import hashlib
import io
import os

import numpy as np
import tensorflow as tf

from kd_tf.data import sources
from kd_tf.errors import UserError

RECYCLING_SEED = 0
SPLIT_NAMES = ("d0", "d1")


@dataclasses.dataclass(frozen=True)
class DistillationSet:
    images: np.ndarray  # uint8 [n, h, w, c]
    labels: np.ndarray  # int64 [n], -1: no true label
    temperatures: np.ndarray  # float32 [n]
    part_sizes: tuple = ()  # consecutive parts batched in fixed proportions; () is one part

    def __len__(self):
        return len(self.labels)

    @property
    def parts(self):
        return self.part_sizes or (len(self),)


@dataclasses.dataclass(frozen=True)
class RecyclingSplit:
    """How the train split is halved: a seed, or D0's indices from a file."""
    d0_indices: np.ndarray | None = None  # None: a permutation with RECYCLING_SEED
    source: str = f"seed {RECYCLING_SEED}"

    def describe(self):
        """What a teacher manifest records, so that teachers and students of
        different splits are never paired."""
        return self.source


def read_split_indices(path, num_examples):
    """D0's indices from a .npy file (--split_indices), checked against the train split."""
    if not tf.io.gfile.exists(path):
        raise UserError(f"--split_indices={path} does not exist.")
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    try:
        indices = np.load(io.BytesIO(raw), allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"--split_indices={path} is not a .npy array ({e}).") from e
    problem = None
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        problem = f"it holds a {indices.dtype} array of shape {indices.shape}, not a 1-D integer array"
    elif len(np.unique(indices)) != len(indices):
        problem = "it repeats indices"
    elif len(indices) == 0 or len(indices) >= num_examples or indices.min() < 0 or indices.max() >= num_examples:
        problem = f"D0 must be a proper subset of the {num_examples} train examples (indices 0..{num_examples - 1})"
    if problem:
        raise UserError(f"--split_indices={path}: {problem}. Save D0's indices with numpy.save.")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return RecyclingSplit(np.sort(indices.astype(np.int64)), f"{os.path.basename(path)} (sha256 {digest})")


def recycling_split(train, split=RecyclingSplit()):
    """The train split halved into {"d0": ..., "d1": ...}: at random with a
    fixed seed, or as a file says. Teachers see D0; students distil on D0, D1
    or both."""
    if split.d0_indices is not None:
        d1 = np.setdiff1d(np.arange(len(train)), split.d0_indices)
        return {"d0": train.subset(split.d0_indices), "d1": train.subset(d1)}
    order = np.random.default_rng(RECYCLING_SEED).permutation(len(train))
    half = len(train) // 2
    return {"d0": train.subset(np.sort(order[:half])), "d1": train.subset(np.sort(order[half:]))}


def teacher_split(train, train_split, split=RecyclingSplit()):
    """The part of the train split teachers learn from: "all", "d0" or "d1"."""
    if train_split == "all":
        return train
    return recycling_split(train, split)[train_split]


def parse_splits(distill_splits, split_temperatures, temperature):
    """'d0,d1' and '1,4' -> {"d0": 1.0, "d1": 4.0}; temperatures default to the run's."""
    names = [s.strip() for s in distill_splits.split(",") if s.strip()]
    unknown = [n for n in names if n not in SPLIT_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise UserError(f"--distill_splits={distill_splits!r}: give d0, d1 or d0,d1.")
    if split_temperatures:
        temps = [float(t) for t in split_temperatures.split(",")]
        if len(temps) != len(names) or min(temps) <= 0:
            raise UserError(f"--split_temperatures={split_temperatures!r}: one positive temperature per "
                            f"split in --distill_splits ({len(names)}).")
    else:
        temps = [temperature] * len(names)
    return dict(zip(names, temps))


def build(train, temperature, splits=None, fraction=None, ood=None, recycling=RecyclingSplit()):
    """splits: {"d0": tau, ...} for data recycling (None: the whole train split),
    each split its own part; fraction: keep a class-balanced fraction of the
    real rows (seed sources.SUBSET_SEED, as teachers' subsets); ood: a Split
    of out-of-domain images, added unlabelled and mixed with the real rows."""
    if splits and ood is not None:
        raise UserError("--aug=ood and --distill_splits do not combine: out-of-domain rows would belong to no split.")
    parts = []
    if splits:
        halves = recycling_split(train, recycling)
        for name, tau in splits.items():
            parts.append((halves[name], tau))
    else:
        parts.append((train, temperature))
    images, labels, temps = [], [], []
    for split, tau in parts:
        if fraction is not None and fraction < 1.0:
            split = sources.stratified_subset(split, max(1, int(round(fraction * len(split)))), sources.SUBSET_SEED)
        images.append(split.images)
        labels.append(split.labels)
        temps.append(np.full(len(split), tau, np.float32))
    if ood is not None:
        images.append(ood.images)
        labels.append(np.full(len(ood), -1, np.int64))
        temps.append(np.full(len(ood), temperature, np.float32))
    part_sizes = tuple(len(t) for t in temps) if len(parts) > 1 else ()
    return DistillationSet(np.concatenate(images), np.concatenate(labels), np.concatenate(temps), part_sizes)


def from_split(split, temperature):
    return DistillationSet(split.images, split.labels, np.full(len(split), temperature, np.float32))
