"""Where examples come from, by dataset name: the embedded mnist5k, prepared
TFDS datasets in memory, or ImageNet streamed from TFDS."""

import numpy as np

from kd_tf.data import embedded, imagenet, tfds_source
from kd_tf.data.catalog import properties

# The seed of every class-balanced subset: teachers' --train_size and students'
# --data_fraction draw the same examples for the same size (the reference's
# subsample.seed is 0 for both).
SUBSET_SEED = 0


def load(name, data_dir=None, emnist_upright=False):
    """A kd_tf.data.catalog.Dataset; a dataset that is not prepared fails with
    the command that prepares it."""
    if name == "emnist_for_mnist":
        return tfds_source.load_emnist_for_mnist(data_dir, upright=emnist_upright)
    if properties(name).streaming:
        return imagenet.load(name, data_dir)
    if name == "mnist5k":
        return embedded.load_mnist5k()
    if name == "imdb_reviews":
        return tfds_source.load_imdb(data_dir)
    return tfds_source.load_images(name, data_dir)


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
