"""Prepared TFDS datasets, read into memory; never downloaded (this machine
cannot, and a half-finished download would be worse than a clear message)."""

import collections
import dataclasses
import os
import re
import string

import numpy as np

from kd_tf.data.catalog import IMDB_MAX_TOKENS, IMDB_MIN_COUNT, PROPERTIES, Dataset, Split
from kd_tf.errors import DatasetNotAvailableError, UserError


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


def read_split(builder, split):
    """(inputs, int64 labels) of a whole split, as numpy arrays."""
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False).batch(10_000)
    inputs, labels = zip(*tfds.as_numpy(ds))
    return np.concatenate(inputs), np.concatenate(labels).astype(np.int64)


def load_images(name, data_dir=None):
    """A prepared TFDS image dataset, in memory."""
    builder = prepared_builder(name, data_dir)
    splits = {}
    for split in ("train", "test"):
        images, labels = read_split(builder, split)
        splits[split] = Split(images.astype(np.uint8), labels)
    return Dataset(name, splits["train"], splits["test"], PROPERTIES[name])


def load_imdb(data_dir=None, min_count=IMDB_MIN_COUNT):
    """IMDB reviews as token ids: the vocabulary is the words seen at least
    IMDB_MIN_COUNT times in train (0: padding, 1: out of vocabulary); each
    review keeps its first IMDB_MAX_TOKENS tokens."""
    import keras

    builder = prepared_builder("imdb_reviews", data_dir)
    texts = {split: read_split(builder, split) for split in ("train", "test")}
    vectorizer = keras.layers.TextVectorization(standardize="lower_and_strip_punctuation",
                                                output_sequence_length=IMDB_MAX_TOKENS)
    counts = collections.Counter()
    for review in texts["train"][0]:
        counts.update(standardize(review).split())
    vocabulary = [word for word, count in counts.most_common() if count >= min_count]
    if not vocabulary:
        raise UserError(f"No word occurs {min_count} times in the IMDB train split; is the dataset complete?")
    vectorizer.set_vocabulary(vocabulary)
    splits = {split: Split(np.asarray(vectorizer(text), np.int32), labels) for split, (text, labels) in texts.items()}
    properties = dataclasses.replace(PROPERTIES["imdb_reviews"], vocab_size=vectorizer.vocabulary_size())
    return Dataset("imdb_reviews", splits["train"], splits["test"], properties)


def standardize(review):
    """Keras's "lower_and_strip_punctuation", in Python, for counting words."""
    text = review.decode("utf-8") if isinstance(review, bytes) else review
    return re.sub(f"[{re.escape(string.punctuation)}]", "", text.lower())
