"""What a student distils on, before augmentation: real training rows (all of
them, a fraction, or data-recycling splits D0/D1), plus unlabelled
out-of-domain rows, each row with its own temperature.

Rows without a true label carry label -1.
"""

import dataclasses

import numpy as np

from kd_tf.data import sources
from kd_tf.errors import UserError

RECYCLING_SEED = 0
SPLIT_NAMES = ("d0", "d1")


@dataclasses.dataclass(frozen=True)
class DistillationSet:
    images: np.ndarray  # uint8 [n, h, w, c]
    labels: np.ndarray  # int64 [n], -1: no true label
    temperatures: np.ndarray  # float32 [n]

    def __len__(self):
        return len(self.labels)


def recycling_split(train, seed=RECYCLING_SEED):
    """The train split halved at random with a fixed seed: {"d0": ..., "d1": ...}.
    Teachers see D0; students distil on D0, D1 or both."""
    order = np.random.default_rng(seed).permutation(len(train))
    half = len(train) // 2
    return {"d0": train.subset(np.sort(order[:half])), "d1": train.subset(np.sort(order[half:]))}


def teacher_split(train, train_split):
    """The part of the train split teachers learn from: "all", "d0" or "d1"."""
    if train_split == "all":
        return train
    return recycling_split(train)[train_split]


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


def build(train, temperature, splits=None, fraction=None, fraction_seed=0, ood=None):
    """splits: {"d0": tau, ...} for data recycling (None: the whole train split);
    fraction: keep a class-balanced fraction of the real rows;
    ood: a Split of out-of-domain images, added unlabelled."""
    parts = []
    if splits:
        halves = recycling_split(train)
        for name, tau in splits.items():
            parts.append((halves[name], tau))
    else:
        parts.append((train, temperature))
    images, labels, temps = [], [], []
    for split, tau in parts:
        if fraction is not None and fraction < 1.0:
            split = sources.stratified_subset(split, max(1, int(round(fraction * len(split)))), fraction_seed)
        images.append(split.images)
        labels.append(split.labels)
        temps.append(np.full(len(split), tau, np.float32))
    if ood is not None:
        images.append(ood.images)
        labels.append(np.full(len(ood), -1, np.int64))
        temps.append(np.full(len(ood), temperature, np.float32))
    return DistillationSet(np.concatenate(images), np.concatenate(labels), np.concatenate(temps))


def from_split(split, temperature):
    return DistillationSet(split.images, split.labels, np.full(len(split), temperature, np.float32))
