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
    temperature: float = 4.0  # of streamed rows; in-memory rows carry their own

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


TEXT_POLICIES = ("none", "baseline")


def check_policy(policy, properties):
    if properties.kind == "text" and policy not in TEXT_POLICIES:
        raise UserError(f"--aug={policy} augments images; text datasets take {' or '.join(TEXT_POLICIES)} "
                        "(no augmentation).")


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one input pipeline's batches are shaped and keyed."""
    pipelines: int
    pipeline: int
    replicas: int
    real: int  # real rows per (per-replica) batch
    synthetic: int

    @classmethod
    def of(cls, spec, input_context):
        replicas = input_context.num_replicas_in_sync if input_context else 1
        return cls(input_context.num_input_pipelines if input_context else 1,
                   input_context.input_pipeline_id if input_context else 0,
                   replicas, spec.real_per_replica(replicas), spec.synthetic_per_replica(replicas))


def finish_example(inputs, label, temperature, key, spec, properties):
    """The policy's per-example stages on one decoded example. Images come in
    [0, 1]; token ids pass through unchanged."""
    if properties.kind == "text":
        return {"image": inputs, "label": label, "temperature": temperature}
    image, has_label = policies.augment_example(inputs, key, spec.policy, properties, spec.options)
    return {"image": image, "label": tf.where(has_label, label, -1), "temperature": temperature}


def batch_stage(batch, spec, properties, layout, epoch, step):
    """The policy's batch stages, then normalisation, then synthetic rows."""
    if properties.kind == "text":
        return batch
    if spec.policy == "mixup":
        batch["image"], _, _ = batch_ops.mixup(batch["image"], _key(spec.seed, _BATCH, epoch, layout.pipeline, step))
    batch["image"] = to_model_range(batch["image"])
    if layout.synthetic:
        key = _key(spec.seed, _SYNTHETIC, epoch, layout.pipeline, step)
        batch = batch_ops.append_rows(
            batch, batch_ops.synthetic_rows(spec.generator, layout.synthetic, key, spec.synth_temperature))
    return batch


def stream(data, properties, spec, start_epoch=0, input_context=None, skip_steps=0):
    """The per-replica batch stream of one input pipeline.

    Without an input context (one device, or Keras distributing it) the batches
    are global. With one (strategy.distribute_datasets_from_function), each
    pipeline reads a disjoint shard of every epoch's permutation and yields
    per-replica batches. `data` is a DistillationSet, or a streamed split.
    skip_steps: global steps of start_epoch already done (a mid-epoch resume)."""
    check_policy(spec.policy, properties)
    layout = Layout.of(spec, input_context)
    skip_batches = skip_steps * layout.replicas // layout.pipelines  # this pipeline's batches per step
    if properties.streaming:
        from kd_tf.data import imagenet

        return imagenet.stream(data, properties, spec, start_epoch, input_context).skip(skip_batches)
    if not isinstance(data, DistillationSet):
        raise TypeError("stream() takes a DistillationSet (see kd_tf.data.distillation_set).")
    steps = steps_per_epoch(len(data), spec, layout.replicas)
    batches_per_epoch = steps * layout.replicas // layout.pipelines  # replicas this pipeline feeds, per step
    real, pipelines, pipeline = layout.real, layout.pipelines, layout.pipeline

    inputs = tf.constant(data.images)
    labels = tf.constant(data.labels, tf.int32)
    temperatures = tf.constant(data.temperatures, tf.float32)
    n = len(data)
    text = properties.kind == "text"

    def example(index, epoch):
        x = tf.gather(inputs, index)
        x = x if text else unit_interval(x)
        if not text:
            x.set_shape(properties.image_shape)
        return finish_example(x, tf.gather(labels, index), tf.gather(temperatures, index),
                              _key(spec.seed, _EXAMPLE, epoch, index), spec, properties)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                         seed=_key(spec.seed, _SHUFFLE, epoch))
        ds = tf.data.Dataset.from_tensor_slices(order).shard(pipelines, pipeline)
        ds = ds.map(lambda i: example(i, epoch), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(real, drop_remainder=True).take(batches_per_epoch).enumerate()
        return ds.map(lambda step, batch: batch_stage(batch, spec, properties, layout, epoch, step),
                      num_parallel_calls=tf.data.AUTOTUNE)

    ds = tf.data.Dataset.range(start_epoch, spec.epochs).flat_map(epoch_batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality((spec.epochs - start_epoch) * batches_per_epoch))
    return ds.skip(skip_batches).prefetch(tf.data.AUTOTUNE)


def distributed_stream(strategy, data, properties, spec, start_epoch=0, skip_steps=0):
    """The stream as the strategy's per-replica input (static per-replica shapes)."""
    return strategy.distribute_datasets_from_function(
        lambda context: stream(data, properties, spec, start_epoch, context, skip_steps))


def supervised_dataset(split, properties, batch_size, seed, epochs):
    """(image, label) batches with the baseline policy, for training teachers
    with Keras's standard fit."""
    spec = StreamSpec("baseline", batch_size, seed, epochs)
    data = split if properties.streaming else from_split(split, 1.0)
    ds = stream(data, properties, spec)
    return ds.map(lambda b: (b["image"], b["label"]))


def evaluation_dataset(split, batch_size, properties=None):
    """Clean inputs in dataset order, the last partial batch kept. Images are
    normalised; token ids pass through."""
    if properties is not None and properties.streaming:
        from kd_tf.data import imagenet

        return imagenet.evaluation_dataset(split, properties, batch_size)
    ds = tf.data.Dataset.from_tensor_slices({"image": split.images, "label": split.labels.astype("int32")})
    if split.images.dtype == "uint8":
        ds = ds.batch(batch_size).map(lambda b: {"image": to_model_range(unit_interval(b["image"])),
                                                 "label": b["label"]})
    else:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
