"""What the datasets are: the in-memory split type and each dataset's
properties (classes, shape, which augmentations preserve its labels).

A leaf module: the loaders (embedded, tfds_source, imagenet) and everything
downstream import it, and it imports none of them. The study's choices per
dataset (architecture, recipes, ...) are kd_tf.config.datasets, not here.
"""

import dataclasses

import numpy as np


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
    kind: str = "image"  # or "text" (token ids)
    vocab_size: int | None = None  # text: known once the vocabulary is built
    streaming: bool = False  # too large for memory: streamed from TFDS

    def model_kwargs(self):
        """Constructor arguments a model needs from the data (the vocabulary size)."""
        return {"vocab_size": self.vocab_size} if self.kind == "text" else {}


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    train: Split  # or a streamed split (kd_tf.data.imagenet.StreamingSplit)
    test: Split
    properties: Properties


IMDB_MAX_TOKENS = 100
IMDB_MIN_COUNT = 10

PROPERTIES = {
    # kd_tf's embedded digits: no flips (digits are not mirror-symmetric) and a
    # 2-pixel margin on 28x28.
    "mnist5k": Properties(10, (28, 28, 1), hflip=False, crop_padding=2),
    # The reference's MNIST and EMNIST runs use its default transforms, the
    # CIFAR ones: horizontal flips and a 4-pixel pad.
    "mnist": Properties(10, (28, 28, 1), hflip=True, crop_padding=4),
    "svhn_cropped": Properties(10, (32, 32, 3), hflip=False, crop_padding=4),
    "cifar10": Properties(10, (32, 32, 3), hflip=True, crop_padding=4),
    "cifar100": Properties(100, (32, 32, 3), hflip=True, crop_padding=4),
    # EMNIST: the class count differs per TFDS config.
    **{f"emnist/{config}": Properties(classes, (28, 28, 1), hflip=False, crop_padding=2)
       for config, classes in (("balanced", 47), ("byclass", 62), ("bymerge", 47), ("digits", 10),
                               ("letters", 37), ("mnist", 10))},
    # The appendix's EMNIST experiment: EMNIST byclass images (no labels) to
    # distil MNIST teachers on, evaluated on MNIST's test set.
    "emnist_for_mnist": Properties(10, (28, 28, 1), hflip=True, crop_padding=4),
    # IMDB: the first 100 tokens of each review, words seen at least 10 times in train.
    "imdb_reviews": Properties(2, (IMDB_MAX_TOKENS,), hflip=False, crop_padding=0, kind="text"),
    # ImageNet: a random resized crop replaces pad-and-crop.
    "imagenet2012": Properties(1000, (224, 224, 3), hflip=True, crop_padding=0, streaming=True),
}


def properties(name):
    if name not in PROPERTIES:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(PROPERTIES)}.")
    return PROPERTIES[name]
