"""The two stages every stream shares, in-memory or streamed: the policy on
one decoded example, and the batch-level stages (mixup, normalisation,
synthetic rows) on one batch."""

import tensorflow as tf

from kd_tf.data import batch_ops, keys, policies
from kd_tf.data.normalization import to_model_range


def finish_example(inputs, label, temperature, key, spec, properties):
    """The policy's per-example stages on one decoded example. Images come in
    [0, 1]; token ids pass through unchanged."""
    if properties.kind == "text":
        return {"image": inputs, "label": label, "temperature": temperature}
    image, has_label = policies.augment_example(inputs, key, spec.policy, properties, spec.options)
    return {"image": image, "label": tf.where(has_label, label, -1), "temperature": temperature}


def mixup_keys(spec, layout, epoch, step):
    """(this batch's key: its partners; the global batch's key: its lambda).
    A pipeline's consecutive batches feed the replicas of one step in turn; on
    one device the two keys are the same."""
    global_step = step // layout.replicas_per_pipeline
    return (keys.key(spec.seed, keys.BATCH, epoch, layout.pipeline, step),
            keys.key(spec.seed, keys.BATCH, epoch, 0, global_step))


def global_step_key(spec, stream, epoch, global_step):
    """A key of the global batch of one step: the same on every pipeline."""
    return keys.key(spec.seed, stream, epoch, 0, global_step)


def batch_stage(batch, spec, properties, layout, epoch, step):
    """The policy's batch stages, then normalisation, then synthetic rows.
    `step`: this pipeline's batch of the epoch (a step's, on one device)."""
    if properties.kind == "text":
        return batch
    global_step, slot = step // layout.replicas_per_pipeline, step % layout.replicas_per_pipeline
    if spec.policy == "mixup":
        key, lambda_key = mixup_keys(spec, layout, epoch, step)
        if "partner_image" in batch:  # the pipeline built each row's partner in the global batch
            batch["image"], _ = batch_ops.mix(batch["image"], batch.pop("partner_image"), lambda_key)
        else:
            batch["image"], _, _ = batch_ops.mixup(batch["image"], key, lambda_key)
    batch["image"] = to_model_range(batch["image"])
    if layout.synthetic and not spec.synthetic_on_device:
        # This replica's rows of the z the global batch draws, as one device draws them.
        key = global_step_key(spec, keys.SYNTHETIC, epoch, global_step)
        by_replica = spec.synthetic_rows(layout.replicas)
        first_replica = layout.pipeline * layout.replicas_per_pipeline
        offsets = tf.constant([sum(by_replica[:first_replica + r]) for r in range(layout.replicas_per_pipeline)])
        rows = batch_ops.synthetic_rows(spec.generator, layout.synthetic, key, spec.synth_temperature,
                                        first=tf.gather(offsets, slot), total=sum(by_replica))
        if not layout.uniform:  # this slot's share: the replicas of a step split the global count
            count = tf.gather(tf.constant(layout.synthetic_by_slot), slot)
            rows = {k: v[:count] for k, v in rows.items()}
        batch = batch_ops.append_rows(batch, rows)
        if not layout.uniform:
            rows_per_replica = layout.real_by_slot[0] + layout.synthetic_by_slot[0]
            batch = {k: tf.ensure_shape(v, [rows_per_replica, *v.shape[1:]]) for k, v in batch.items()}
    return batch
