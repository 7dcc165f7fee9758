"""tf.data pipelines: in-graph, static-shaped, and reproducible from a seed.

A distillation run's stream covers epochs [start_epoch, epochs): each epoch is
a seeded permutation, per-example stages keyed by (seed, epoch, index) and
batch stages keyed by (seed, epoch, batch). Restarting at any epoch therefore
reproduces the batches an uninterrupted run would have seen.

Elements are dicts: "image" float32 in [-1, 1], "label" int32 (-1 where a row
has no true label) and, for distillation, "temperature" float32 per row.
"""

import tensorflow as tf

from kd_tf.errors import UserError

from kd_tf.data import batch_ops, policies
from kd_tf.data.normalization import to_model_range, unit_interval

# Independent streams of randomness derived from the run seed.
_SHUFFLE, _EXAMPLE, _BATCH = 1, 2, 3


def _key(seed, stream, *data):
    key = tf.constant([seed, stream], tf.int64)
    for value in data:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(value, tf.int64))
    return key


def steps_per_epoch(num_examples, batch_size):
    steps = num_examples // batch_size
    if steps == 0:
        raise UserError(
            f"--batch_size={batch_size} is larger than the {num_examples} training examples; "
            "lower --batch_size."
        )
    return steps


def augmented_stream(split, properties, policy, batch_size, seed, epochs, start_epoch=0):
    """Batches of {"image", "label"} for epochs [start_epoch, epochs), after the
    policy's per-example and batch stages."""
    images = tf.constant(split.images)
    labels = tf.constant(split.labels, tf.int32)
    n = len(split)

    def example(index, epoch):
        image = unit_interval(tf.gather(images, index))
        image = policies.augment_example(image, _key(seed, _EXAMPLE, epoch, index), policy, properties)
        image.set_shape(properties.image_shape)
        return {"image": image, "label": tf.gather(labels, index)}

    def batch_stage(step, batch, epoch):
        if policy == "mixup":
            batch["image"], _, _ = batch_ops.mixup(batch["image"], _key(seed, _BATCH, epoch, step))
        batch["image"] = to_model_range(batch["image"])
        return batch

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=_key(seed, _SHUFFLE, epoch))
        ds = tf.data.Dataset.from_tensor_slices(order)
        ds = ds.map(lambda i: example(i, epoch), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(batch_size, drop_remainder=True).enumerate()
        return ds.map(lambda step, batch: batch_stage(step, batch, epoch), num_parallel_calls=tf.data.AUTOTUNE)

    epochs_ds = tf.data.Dataset.range(start_epoch, epochs)
    ds = epochs_ds.flat_map(epoch_batches)
    total = (epochs - start_epoch) * steps_per_epoch(n, batch_size)
    return ds.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)


def distillation_dataset(split, properties, policy, batch_size, seed, epochs, temperature, start_epoch=0):
    """The distillation stream, with the run's temperature on every row."""

    def add_temperature(batch):
        batch["temperature"] = tf.fill(tf.shape(batch["label"]), tf.constant(temperature, tf.float32))
        return batch

    ds = augmented_stream(split, properties, policy, batch_size, seed, epochs, start_epoch)
    return ds.map(add_temperature)


def supervised_dataset(split, properties, batch_size, seed, epochs):
    """(image, label) batches with the baseline policy, for training teachers
    with Keras's standard fit."""
    ds = augmented_stream(split, properties, "baseline", batch_size, seed, epochs)
    return ds.map(lambda b: (b["image"], b["label"]))


def evaluation_dataset(split, batch_size):
    """Clean inputs in dataset order, the last partial batch kept."""
    ds = tf.data.Dataset.from_tensor_slices({"image": split.images, "label": split.labels.astype("int32")})
    ds = ds.batch(batch_size).map(lambda b: {"image": to_model_range(unit_interval(b["image"])), "label": b["label"]})
    return ds.prefetch(tf.data.AUTOTUNE)
