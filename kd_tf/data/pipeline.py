"""tf.data pipelines: in-graph, static-shaped, and reproducible from a seed.

A distillation stream covers epochs [start_epoch, epochs). Each epoch is a
seeded permutation of the distillation set; per-example stages are keyed by
(seed, epoch, example index) and batch stages by (seed, epoch, input pipeline,
batch). Restarting at any epoch therefore reproduces the batches an
uninterrupted run would have seen, and per-example randomness does not depend
on parallelism or on the number of replicas.

Elements are dicts: "image" float32 in [-1, 1], "label" int32 (-1 where a row
has no true label: noise, out-of-domain and synthetic rows) and "temperature"
float32 per row.
"""

import dataclasses

import tensorflow as tf

from kd_tf.data import batch_ops, policies
from kd_tf.data.distillation_set import DistillationSet, from_split
from kd_tf.data.normalization import to_model_range, unit_interval
from kd_tf.errors import UserError

# Independent streams of randomness derived from the run seed.
_SHUFFLE, _EXAMPLE, _BATCH, _SYNTHETIC = 1, 2, 3, 4


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    policy: str
    batch_size: int  # global, real and synthetic rows together
    seed: int
    epochs: int
    options: policies.Options = policies.Options()
    generator: object = None  # kd_tf.data.generators.Generator, for the gan policy
    synth_ratio: float = 0.25  # synthetic rows per real row (the study's 1:4)
    synth_temperature: float = 4.0

    def synthetic_per_replica(self, replicas=1):
        if self.policy != "gan":
            return 0
        return batch_ops.synthetic_count(self.batch_size // replicas, self.synth_ratio)

    def real_per_replica(self, replicas=1):
        return self.batch_size // replicas - self.synthetic_per_replica(replicas)


def _key(seed, stream, *data):
    key = tf.constant([seed, stream], tf.int64)
    for value in data:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(value, tf.int64))
    return key


def steps_per_epoch(num_examples, spec, replicas=1):
    """Global steps in one pass over the distillation set (partial batches dropped)."""
    if spec.batch_size % replicas:
        raise UserError(f"--batch_size={spec.batch_size} must be divisible by the {replicas} replicas.")
    real = spec.real_per_replica(replicas)
    if real <= 0:
        raise UserError(f"--batch_size={spec.batch_size} leaves no real rows per replica; raise it.")
    steps = num_examples // (real * replicas)
    if steps == 0:
        raise UserError(
            f"--batch_size={spec.batch_size} is larger than the {num_examples} training examples; "
            "lower --batch_size."
        )
    return steps


def stream(data, properties, spec, start_epoch=0, input_context=None):
    """The per-replica batch stream of one input pipeline.

    Without an input context (one device, or Keras distributing it) the batches
    are global. With one (strategy.distribute_datasets_from_function), each
    pipeline reads a disjoint shard of every epoch's permutation and yields
    per-replica batches."""
    if not isinstance(data, DistillationSet):
        raise TypeError("stream() takes a DistillationSet (see kd_tf.data.distillation_set).")
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline = input_context.input_pipeline_id if input_context else 0
    replicas = input_context.num_replicas_in_sync if input_context else 1
    real = spec.real_per_replica(replicas)
    synthetic = spec.synthetic_per_replica(replicas)
    steps = steps_per_epoch(len(data), spec, replicas)
    batches_per_epoch = steps * replicas // pipelines  # replicas this pipeline feeds, per step

    images = tf.constant(data.images)
    labels = tf.constant(data.labels, tf.int32)
    temperatures = tf.constant(data.temperatures, tf.float32)
    n = len(data)

    def example(index, epoch):
        image = unit_interval(tf.gather(images, index))
        image, has_label = policies.augment_example(
            image, _key(spec.seed, _EXAMPLE, epoch, index), spec.policy, properties, spec.options)
        label = tf.where(has_label, tf.gather(labels, index), -1)
        return {"image": image, "label": label, "temperature": tf.gather(temperatures, index)}

    def batch_stage(step, batch, epoch):
        key = _key(spec.seed, _BATCH, epoch, pipeline, step)
        if spec.policy == "mixup":
            batch["image"], _, _ = batch_ops.mixup(batch["image"], key)
        batch["image"] = to_model_range(batch["image"])
        if synthetic:
            rows = batch_ops.synthetic_rows(spec.generator, synthetic, _key(spec.seed, _SYNTHETIC, epoch, pipeline, step),
                                            spec.synth_temperature)
            batch = batch_ops.append_rows(batch, rows)
        return batch

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                         seed=_key(spec.seed, _SHUFFLE, epoch))
        ds = tf.data.Dataset.from_tensor_slices(order).shard(pipelines, pipeline)
        ds = ds.map(lambda i: example(i, epoch), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(real, drop_remainder=True).take(batches_per_epoch).enumerate()
        return ds.map(lambda step, batch: batch_stage(step, batch, epoch), num_parallel_calls=tf.data.AUTOTUNE)

    ds = tf.data.Dataset.range(start_epoch, spec.epochs).flat_map(epoch_batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality((spec.epochs - start_epoch) * batches_per_epoch))
    return ds.prefetch(tf.data.AUTOTUNE)


def distributed_stream(strategy, data, properties, spec, start_epoch=0):
    """The stream as the strategy's per-replica input (static per-replica shapes)."""
    return strategy.distribute_datasets_from_function(
        lambda context: stream(data, properties, spec, start_epoch, context))


def supervised_dataset(split, properties, batch_size, seed, epochs):
    """(image, label) batches with the baseline policy, for training teachers
    with Keras's standard fit."""
    spec = StreamSpec("baseline", batch_size, seed, epochs)
    ds = stream(from_split(split, 1.0), properties, spec)
    return ds.map(lambda b: (b["image"], b["label"]))


def evaluation_dataset(split, batch_size):
    """Clean inputs in dataset order, the last partial batch kept."""
    ds = tf.data.Dataset.from_tensor_slices({"image": split.images, "label": split.labels.astype("int32")})
    ds = ds.batch(batch_size).map(lambda b: {"image": to_model_range(unit_interval(b["image"])), "label": b["label"]})
    return ds.prefetch(tf.data.AUTOTUNE)
