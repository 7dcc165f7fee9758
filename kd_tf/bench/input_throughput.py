"""Input-pipeline throughput, per policy, on CIFAR-shaped data: the figure
that says whether input can starve a training step."""

import time

import numpy as np

from kd_tf.data import distillation_set, ood
from kd_tf.data.catalog import PROPERTIES, Split
from kd_tf.data.generators import Generator
from kd_tf.data.pipeline import stream
from kd_tf.data.stream_spec import StreamSpec
from kd_tf.models.registry import build_model

CIFAR = PROPERTIES["cifar100"]


def synthetic_cifar(count, seed=0):
    rng = np.random.default_rng(seed)
    return Split(rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8),
                         rng.integers(0, 100, count).astype(np.int64))


def untrained_generator(width=256):
    """The study's SN-GAN generator at full width, untrained: sampling costs the same."""
    model = build_model("sngan_generator", width=width)
    return Generator(lambda z: model(z, training=False), 128, (32, 32, 3), "untrained")


def images_per_second(policy, split, batch_size=128, batches=60, warmup=5, generator=None):
    data = distillation_set.from_split(split, 4.0)
    if policy == "ood":
        data = distillation_set.build(split, 4.0, ood=ood.load(ood.EMBEDDED, 2000, (32, 32, 3)))
    spec = StreamSpec(policy, batch_size, 0, epochs=1000, generator=generator)
    iterator = iter(stream(data, CIFAR, spec))
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)
