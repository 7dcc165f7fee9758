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
from absl import logging

from kd_tf.data import batch_ops, imagenet, keys, policies
from kd_tf.data.distillation_set import DistillationSet, from_split
from kd_tf.data.normalization import to_model_range, unit_interval
from kd_tf.data.stages import batch_stage, finish_example, global_step_key
from kd_tf.data.stream_spec import Layout, StreamSpec, check_policy, rows_per_part, steps_per_epoch


def stream(data, properties, spec, start_epoch=0, input_context=None, skip_steps=0, teacher_logits=None):
    """The per-replica batch stream of one input pipeline.

    Without an input context (one device, or Keras distributing it) the batches
    are global. With one (strategy.distribute_datasets_from_function), each
    pipeline reads a disjoint shard of every epoch's permutation and yields
    per-replica batches. `data` is a DistillationSet, or a streamed split.
    skip_steps: global steps of start_epoch already done (a mid-epoch resume);
    their examples are dropped before they are read, decoded or augmented, and
    the batches that follow are those of the uninterrupted stream.
    teacher_logits: [len(data), classes] rows of the teachers' logits on the
    clean inputs (--aug=none, whose inputs repeat exactly every epoch): each
    example then carries its row as "teacher_logits", and the step skips the
    teachers."""
    check_policy(spec.policy, properties)
    if teacher_logits is not None and (spec.policy != "none" or properties.streaming):
        raise ValueError("Cached teacher logits stand for the teachers only where inputs repeat exactly: "
                         f"--aug=none on an in-memory dataset, not --aug={spec.policy}"
                         + (" on a streamed one" if properties.streaming else "") + ".")
    layout = Layout.of(spec, input_context)
    skip_batches = skip_steps * layout.replicas // layout.pipelines  # this pipeline's batches per step
    if properties.streaming:
        return imagenet.stream(data, properties, spec, start_epoch, input_context, skip_batches)
    if not isinstance(data, DistillationSet):
        raise TypeError("stream() takes a DistillationSet (see kd_tf.data.distillation_set).")
    steps = steps_per_epoch(data.parts if len(data.parts) > 1 else len(data), spec, layout.replicas)
    batches_per_epoch = layout.batches_per_epoch(steps)
    real, pipelines, pipeline = layout.real, layout.pipelines, layout.pipeline

    inputs = tf.constant(data.images)
    labels = tf.constant(data.labels, tf.int32)
    temperatures = tf.constant(data.temperatures, tf.float32)
    cached = None if teacher_logits is None else tf.constant(teacher_logits, tf.float32)
    n = len(data)
    text = properties.kind == "text"

    def example(index, epoch):
        x = tf.gather(inputs, index)
        x = x if text else unit_interval(x)
        if not text:
            x.set_shape(properties.image_shape)
        out = finish_example(x, tf.gather(labels, index), tf.gather(temperatures, index),
                             keys.key(spec.seed, keys.EXAMPLE, epoch, index), spec, properties)
        if cached is not None:
            out["teacher_logits"] = tf.gather(cached, index)
        return out

    # mixup under several replicas: a row's partner is drawn from the global batch, as on one device,
    # so each pipeline also builds its rows' partners (per-example stages are keyed by example: the
    # owner builds the same image). One device mixes within its batch, which is the global one.
    global_partners = spec.policy == "mixup" and layout.replicas > 1 and not text and len(data.parts) == 1
    global_batch = real * layout.replicas

    def partner_order(order, epoch):
        """The example index of each order position's mixup partner."""
        def step_partners(step):
            partner = batch_ops.mixup_partners(global_batch, global_step_key(spec, keys.BATCH, epoch, step))
            return tf.gather(order, step * global_batch + tf.cast(partner, tf.int64))
        partners = tf.map_fn(step_partners, tf.range(steps, dtype=tf.int64), fn_output_signature=tf.int64)
        return tf.reshape(partners, [-1])

    def example_with_partner(index, partner, epoch):
        out = example(index, epoch)
        out["partner_image"] = example(partner, epoch)["image"]
        return out

    def examples(order, epoch, rows, skip):
        """`skip`: this pipeline's batches of the epoch already done."""
        if global_partners:
            ds = tf.data.Dataset.from_tensor_slices((order[:steps * global_batch], partner_order(order, epoch)))
            ds = ds.shard(pipelines, pipeline)
        else:
            ds = tf.data.Dataset.from_tensor_slices(order).shard(pipelines, pipeline)
        if not layout.uniform:  # a step is ends[-1] rows cut into one batch per slot
            steps_done = skip // len(layout.real_by_slot)
            ds = ds.skip(steps_done * sum(layout.real_by_slot))
        else:
            ds = ds.skip(skip * rows)
        build = (lambda i, p: example_with_partner(i, p, epoch)) if global_partners else (lambda i: example(i, epoch))
        ds = ds.map(build, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if not layout.uniform:
            return per_slot_batches(ds).take(batches_per_epoch - skip)
        return ds.batch(rows, drop_remainder=True).take(batches_per_epoch - skip)

    def per_slot_batches(ds):
        """A step's real rows for this pipeline's replicas, cut into each one's
        share (they differ when the synthetic rows do not divide evenly)."""
        ends = [sum(layout.real_by_slot[:j + 1]) for j in range(len(layout.real_by_slot))]

        def cut(step_rows):
            pieces = [{k: v[end - size:end] for k, v in step_rows.items()}
                      for end, size in zip(ends, layout.real_by_slot)]
            out = tf.data.Dataset.from_tensors(pieces[0])
            for piece in pieces[1:]:
                out = out.concatenate(tf.data.Dataset.from_tensors(piece))
            return out
        return ds.batch(ends[-1], drop_remainder=True).flat_map(cut)

    def epoch_batches(epoch, skip=0):
        if len(data.parts) == 1:
            order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                             seed=keys.key(spec.seed, keys.SHUFFLE, epoch))
            ds = examples(order, epoch, real, skip)
        else:  # each part shuffled on its own; every batch takes its fixed share of each
            offsets = [sum(data.parts[:p]) for p in range(len(data.parts))]
            parts = []
            for p, (offset, size, rows) in enumerate(zip(offsets, data.parts, rows_per_part(real, data.parts))):
                order = offset + tf.random.experimental.stateless_shuffle(
                    tf.range(size, dtype=tf.int64), seed=keys.key(spec.seed, keys.SHUFFLE, epoch, p))
                parts.append(examples(order, epoch, rows, skip))
            ds = tf.data.Dataset.zip(tuple(parts)).map(
                lambda *batches: {k: tf.concat([b[k] for b in batches], axis=0) for k in batches[0]})
        return ds.enumerate(start=skip).map(
            lambda step, batch: batch_stage(batch, spec, properties, layout, epoch, step),
            num_parallel_calls=tf.data.AUTOTUNE)

    if skip_batches >= batches_per_epoch:
        raise ValueError(f"skip_steps={skip_steps} is not within an epoch of {steps} steps.")
    ds = epoch_batches(tf.constant(start_epoch, tf.int64), skip_batches)
    if start_epoch + 1 < spec.epochs:
        ds = ds.concatenate(tf.data.Dataset.range(start_epoch + 1, spec.epochs).flat_map(epoch_batches))
    total = (spec.epochs - start_epoch) * batches_per_epoch - skip_batches
    return ds.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)


def distributed_stream(strategy, data, properties, spec, start_epoch=0, skip_steps=0, image_dtype=None,
                       teacher_logits=None, student_temperatures=()):
    """The stream as the strategy's per-replica input (static per-replica shapes).
    image_dtype: what images cross to the device as (e.g. bfloat16 when every
    model computes in it and would cast them on arrival anyway: half the bytes).
    teacher_logits: see stream(). student_temperatures: a DistillerGroup's, one
    column "temperature_<k>" per student, each row at student k's temperature
    (an input, as a single run's own column is: a constant in its place
    changes how TensorFlow rewrites the step's graph, and its rounding)."""
    def per_pipeline(context):
        log_input_share("distillation", context, spec.batch_size)
        ds = stream(data, properties, spec, start_epoch, context, skip_steps, teacher_logits)
        if image_dtype is not None and properties.kind == "image":
            ds = ds.map(lambda b: {**b, "image": tf.cast(b["image"], image_dtype)})
        if student_temperatures:
            def per_student(b):
                rows = tf.shape(b["temperature"])
                return {**b, **{f"temperature_{k}": tf.fill(rows, tf.constant(t, tf.float32))
                                for k, t in enumerate(student_temperatures)}}
            ds = ds.map(per_student)
        return ds
    return strategy.distribute_datasets_from_function(per_pipeline)


def log_input_share(what, context, global_rows):
    """One line per input pipeline: which share of each global batch this worker builds."""
    if context is not None and context.num_input_pipelines > 1:
        logging.info("%s: input pipeline %d of %d builds %d of the %d rows of each global batch", what,
                     context.input_pipeline_id + 1, context.num_input_pipelines,
                     global_rows // context.num_input_pipelines, global_rows)


def supervised_dataset(split, properties, batch_size, seed, epochs, start_epoch=0, context=None, skip_steps=0):
    """(image, label) batches with the baseline policy, for training teachers
    with Keras's standard fit; with a context, one input pipeline's share
    (strategy.distribute_datasets_from_function)."""
    spec = StreamSpec("baseline", batch_size, seed, epochs)
    data = split if properties.streaming else from_split(split, 1.0)
    log_input_share("teacher training", context, batch_size)
    ds = stream(data, properties, spec, start_epoch, context, skip_steps)
    return ds.map(lambda b: (b["image"], b["label"]))


def evaluation_dataset(split, batch_size, properties=None):
    """Clean inputs in dataset order, the last partial batch kept. Images are
    normalised; token ids pass through."""
    if properties is not None and properties.streaming:
        return imagenet.evaluation_dataset(split, properties, batch_size)
    ds = tf.data.Dataset.from_tensor_slices({"image": split.images, "label": split.labels.astype("int32")})
    if split.images.dtype == "uint8":
        ds = ds.batch(batch_size).map(lambda b: {"image": to_model_range(unit_interval(b["image"])),
                                                 "label": b["label"]})
    else:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class PolicyStream:
    """A distillation stream over all its epochs, with what `fit` needs:
    fit(stream.dataset, epochs=stream.epochs, steps_per_epoch=stream.steps_per_epoch)."""
    dataset: tf.data.Dataset
    epochs: int
    steps_per_epoch: int
    spec: StreamSpec


def policy_stream(dataset, policy="mixup", batch_size=128, epochs=1, seed=0, temperature=4.0, generator=None,
                  **options):
    """The batches a student distils on under `policy`, for one device: dicts
    of "image" (in [-1, 1]), "label" (-1: none) and "temperature", on the
    whole train split of a kd_tf.data.catalog.Dataset. options: fields of
    kd_tf.data.policies.Options (rotation_degrees, noise_prob, ...)."""
    spec = StreamSpec(policy, batch_size, seed, epochs, policies.Options(**options), generator,
                      synth_temperature=temperature, temperature=temperature)
    data = dataset.train if dataset.properties.streaming else from_split(dataset.train, temperature)
    return PolicyStream(stream(data, dataset.properties, spec), epochs, steps_per_epoch(len(data), spec), spec)
