"""Prepared TFDS datasets, read into memory; never downloaded (this machine
cannot, and a half-finished download would be worse than a clear message)."""

import collections
import dataclasses
import os
import re

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


def load_emnist_for_mnist(data_dir=None, upright=False):
    """The appendix's EMNIST experiment: EMNIST byclass train images to distil
    on, and MNIST's test split to evaluate on. The images carry no MNIST label
    (-1; the reference gives them random labels, which only its alpha term
    could read). TFDS stores EMNIST as the original files do, transposed
    relative to MNIST, and so does torchvision, which the reference fed its
    MNIST teacher from: kd_tf keeps that orientation unless upright."""
    emnist = prepared_builder("emnist/byclass", data_dir)
    images, _ = read_split(emnist, "train")
    if upright:
        images = np.ascontiguousarray(np.transpose(images, (0, 2, 1, 3)))
    mnist_images, mnist_labels = read_split(prepared_builder("mnist", data_dir), "test")
    train = Split(images.astype(np.uint8), np.full(len(images), -1, np.int64))
    return Dataset("emnist_for_mnist", train, Split(mnist_images.astype(np.uint8), mnist_labels),
                   PROPERTIES["emnist_for_mnist"])


# torchtext's basic_english, which the reference tokenises IMDB with: lower case,
# then these substitutions in order, then split on white space.
BASIC_ENGLISH = tuple((re.compile(pattern), replacement) for pattern, replacement in (
    (r"\'", " '  "), (r'\"', ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "), (r"\(", " ( "),
    (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "), (r"\:", " "), (r"\s+", " ")))


def basic_english(text):
    """torchtext's get_tokenizer("basic_english"): punctuation becomes tokens."""
    text = (text.decode("utf-8") if isinstance(text, bytes) else text).lower()
    for pattern, replacement in BASIC_ENGLISH:
        text = pattern.sub(replacement, text)
    return text.split()


def imdb_vocabulary(tokenized_reviews, min_count=IMDB_MIN_COUNT):
    """Token -> id: 0 is padding, 1 out of vocabulary, then the tokens seen at
    least min_count times, most frequent first (ties alphabetical), as
    torchtext's build_vocab_from_iterator orders them."""
    counts = collections.Counter(token for tokens in tokenized_reviews for token in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return {token: index + 2 for index, token in enumerate(kept)}


def encode(tokens, vocabulary, length=IMDB_MAX_TOKENS):
    """The first `length` tokens as ids, padded with 0."""
    ids = [vocabulary.get(token, 1) for token in tokens[:length]]
    return ids + [0] * (length - len(ids))


def load_imdb(data_dir=None, min_count=IMDB_MIN_COUNT):
    """IMDB reviews as token ids, tokenised as the reference does (torchtext's
    basic_english): the vocabulary is the tokens seen at least min_count
    times in train; each review keeps its first IMDB_MAX_TOKENS tokens."""
    builder = prepared_builder("imdb_reviews", data_dir)
    texts = {split: read_split(builder, split) for split in ("train", "test")}
    tokens = {split: [basic_english(review) for review in reviews] for split, (reviews, _) in texts.items()}
    vocabulary = imdb_vocabulary(tokens["train"], min_count)
    if not vocabulary:
        raise UserError(f"No token occurs {min_count} times in the IMDB train split; is the dataset complete?")
    splits = {split: Split(np.array([encode(t, vocabulary) for t in tokens[split]], np.int32), texts[split][1])
              for split in ("train", "test")}
    properties = dataclasses.replace(PROPERTIES["imdb_reviews"], vocab_size=len(vocabulary) + 2)
    return Dataset("imdb_reviews", splits["train"], splits["test"], properties)
