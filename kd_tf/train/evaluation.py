"""Every metric of REFERENCE.md section 2 on every split a study reports:
clean test, clean train, and one augmented pass over train with a policy
(all in eval mode). Metrics are kd_tf.metrics (the code the Distiller reports
with), so final and per-epoch numbers agree. Results are rows, one per
(model, split), written as JSON and CSV.
"""

import csv
import dataclasses
import io
import math
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from kd_tf import metrics as kd_metrics
from kd_tf.data import distillation_set
from kd_tf.data.pipeline import evaluation_dataset, stream
from kd_tf.data.stream_spec import StreamSpec
from kd_tf.errors import UserError
from kd_tf.models import registry  # noqa: F401  registers the architectures for load_model
from kd_tf.train import storage

EVAL_BATCH = 500


def generalisation(labels, logits):
    """Accuracy, NLL and ECE of one model's logits (a new teacher's test row)."""
    out = {}
    for metric in kd_metrics.generalisation_metrics():
        metric.update_state(labels, logits)
        out[metric.name] = float(metric.result())
    return out


def predict(model, split, properties, batch_size=EVAL_BATCH, strategy=None, label=None):
    """(labels, logits) of `model` in eval mode on the clean inputs of a split,
    labels read from the same stream (streamed splits have no label array);
    with a label, progress lines."""
    batches = evaluation_dataset(split, batch_size, properties)
    total = None if properties is not None and properties.streaming else -(-len(split.labels) // batch_size)
    labels, (logits,) = predict_batches([model], batches, label=label, total_batches=total, strategy=strategy,
                                        batch_size=batch_size)
    return labels, logits


class _Progress:
    """A line per tenth of a long pass (a known number of batches), and one at the end."""

    def __init__(self, label, total_batches):
        self.label, self.total, self.start, self.next_tenth = label, total_batches, time.time(), 1

    def update(self, done, examples):
        if self.label and self.total and self.total >= 20 and done >= self.next_tenth * self.total / 10:
            logging.info("%s: %d%% (%d of %d batches, %.0fs)", self.label, 100 * done // self.total, done,
                         self.total, time.time() - self.start)
            self.next_tenth = 10 * done // self.total + 1

    def finish(self, examples):
        if self.label:
            logging.info("%s: %s examples in %.1fs", self.label, f"{examples:,}", time.time() - self.start)


def compiled(model):
    """model(x, training=False) as a tf.function: several times faster than
    eager calls, batch by batch (SavedModel signatures are functions already)."""
    if isinstance(model, SavedModelClassifier):
        return model
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def _padded(batches, size):
    """Every batch padded to `size` rows (a multiple of the replicas), with a
    mask: static shapes that split evenly over replicas; the padding is dropped
    from the results."""
    def pad(batch):
        rows = tf.shape(batch["label"])[0]
        out = {k: tf.concat([v, tf.zeros(tf.concat([[size - rows], tf.shape(v)[1:]], 0), v.dtype)], 0)
               for k, v in batch.items()}
        out["mask"] = tf.cast(tf.range(size) < rows, tf.int32)  # int: collectives take no bool
        return {k: tf.ensure_shape(v, [size, *v.shape[1:]]) for k, v in out.items()}
    return batches.map(pad)


def _replicated_predictor(models, strategy):
    """Every replica predicts its share of a padded batch; the shares are
    gathered back in order, with labels and mask."""
    @tf.function(reduce_retracing=True)
    def step(batch):
        def replica(b):
            return [tf.cast(m(b["image"], training=False), tf.float32) for m in models], b["label"], b["mask"]
        logits, labels, mask = strategy.run(replica, args=(batch,))
        return ([strategy.gather(x, axis=0) for x in logits], strategy.gather(labels, axis=0),
                strategy.gather(mask, axis=0))
    return step


def predict_batches(models, batches, label=None, total_batches=None, strategy=None, batch_size=EVAL_BATCH):
    """(labels, [logits of each model]) over the same batches, in memory."""
    labels, logits = [], [[] for _ in models]
    for batch_labels, batch_logits in prediction_stream(models, batches, label, total_batches, strategy, batch_size):
        labels.append(batch_labels)
        for out, x in zip(logits, batch_logits):
            out.append(x)
    return np.concatenate(labels), [np.concatenate(x) for x in logits]


def prediction_stream(models, batches, label=None, total_batches=None, strategy=None, batch_size=EVAL_BATCH):
    """Yields (labels, [float32 logits of each model]) batch by batch, so that
    callers keep only what they need; with a label, progress lines (per tenth
    when total_batches is known and large). With a strategy of several
    replicas (and Keras models), batches are padded to a static multiple of
    the replicas (at least batch_size, the largest batch) and split among them."""
    progress = _Progress(label, total_batches)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if replicas > 1 and not any(isinstance(m, SavedModelClassifier) for m in models):
        predicted = _replicated_batches(models, batches, strategy, batch_size)
    else:
        predicted = _local_batches(models, batches)
    examples = 0
    for done, (labels, logits) in enumerate(predicted, start=1):
        examples += len(labels)
        yield labels, logits
        progress.update(done, examples)
    progress.finish(examples)


def _local_batches(models, batches):
    predictors = [compiled(model) for model in models]
    for batch in batches:
        yield (np.asarray(batch["label"]),
               [np.asarray(p(batch["image"]), dtype=np.float32) for p in predictors])  # bf16/fp16 models too


def _replicated_batches(models, batches, strategy, batch_size):
    replicas = strategy.num_replicas_in_sync
    rows = batches.element_spec["label"].shape[0] or batch_size
    size = -(-rows // replicas) * replicas
    with strategy.scope():
        step = _replicated_predictor(models, strategy)
    for batch in strategy.experimental_distribute_dataset(_padded(batches, size)):
        logits, labels, mask = step(batch)
        keep = np.asarray(mask).astype(bool)
        yield np.asarray(labels)[keep], [np.asarray(x)[keep] for x in logits]


class _StreamingRows:
    """Every metric of one split, accumulated batch by batch: nothing of a
    big split is held in memory."""

    def __init__(self, names, reference):
        self.reference = reference
        self.teacher = kd_metrics.generalisation_metrics()
        self.students = {name: (kd_metrics.generalisation_metrics(), kd_metrics.fidelity_metrics(),
                                kd_metrics.TopOneAgreement() if reference and name != "reference_student" else None)
                         for name in names}

    def update(self, labels, teacher_logits, by_name):
        for metric in self.teacher:
            metric.update_state(labels, teacher_logits)
        for name, (generalisation_ms, fidelity_ms, with_reference) in self.students.items():
            for metric in generalisation_ms:
                metric.update_state(labels, by_name[name])
            for metric in fidelity_ms:
                metric.update_state(teacher_logits, by_name[name])
            if with_reference is not None:
                with_reference.update_state(by_name["reference_student"], by_name[name])

    def rows(self, split):
        def values(metrics):
            return {m.name: float(m.result()) for m in metrics}
        rows = [{"model": "teacher", "split": split, **values(self.teacher)}]
        for name, (generalisation_ms, fidelity_ms, with_reference) in self.students.items():
            row = {"model": name, "split": split, **values(generalisation_ms), **values(fidelity_ms)}
            if with_reference is not None:
                row["agreement_with_reference"] = float(with_reference.result())
            rows.append(row)
        return rows


def augmented_pass(dataset, spec):
    """One pass over train with a policy's stream (epoch 0 of its seed), as eval inputs."""
    one_epoch = dataclasses.replace(spec, epochs=1, synthetic_on_device=False)  # the rows in the pipeline here
    data = dataset.train if dataset.properties.streaming else distillation_set.from_split(dataset.train, 1.0)
    # The same examples in evaluation-sized batches: at the training batch size
    # the per-batch cost (a call of each model, every metric's update) made this
    # pass take ten times as long as the clean one over the same rows.
    return (stream(data, dataset.properties, one_epoch).map(lambda b: {"image": b["image"], "label": b["label"]})
            .unbatch().batch(EVAL_BATCH))


def evaluate(teacher, students, dataset, spec=None, reference=None, include_train=True, strategy=None,
             extra_splits=()):
    """Rows {"model", "split", metrics...} for the teacher, each student
    (name -> model) and the optional reference student, on clean test, clean
    train, each of `extra_splits` ((name, Split), ...: e.g. a student's own
    distillation data) and, with a spec, an augmented pass over train; across
    the strategy's replicas when given."""
    def batches_of(split):
        return math.ceil(len(split) / EVAL_BATCH)

    def clean(split):
        return lambda: evaluation_dataset(split, EVAL_BATCH, dataset.properties)

    splits = [("test", clean(dataset.test), batches_of(dataset.test))]
    if include_train and not dataset.properties.streaming:
        splits.append(("train", clean(dataset.train), batches_of(dataset.train)))
    splits += [(name, clean(split), batches_of(split)) for name, split in extra_splits]
    if spec is not None and dataset.properties.kind == "image":
        splits.append((f"train_{spec.policy}", lambda: augmented_pass(dataset, spec), None))
    named = dict(students)
    if reference is not None:
        named["reference_student"] = reference
    rows, predictions = [], {}
    for split, batches, total in splits:
        metrics = _StreamingRows(list(named), reference is not None)
        kept = [] if split == "test" else None  # only the test set's predictions are saved
        for labels, logits in prediction_stream([teacher, *named.values()], batches(),
                                                f"Evaluating teacher and {len(named)} student(s) on {split}",
                                                total, strategy):
            by_name = dict(zip(named, logits[1:]))
            metrics.update(labels, logits[0], by_name)
            if kept is not None:
                kept.append((labels, logits))
        rows += metrics.rows(split)
        if kept:
            labels = np.concatenate([k[0] for k in kept])
            logits = [np.concatenate([k[1][i] for k in kept]) for i in range(len(named) + 1)]
            predictions[split] = (labels, logits[0], dict(zip(named, logits[1:])))
    return rows, predictions


CKA_BATCH = 128  # the reference's test loader's batch (its preact_cka averages over these batches)


def stage_cka(teacher_member, student, split, properties):
    """Per-stage CKA of one teacher network and the student on `split` (eval
    mode), for self-distillation (Table 1): {"cka_<s>": linear CKA over every
    example, "cka_reference_<s>": the reference's batch-averaged RBF CKA of the
    transposed activations}, s = 1, 2, 3; None where either model has no stages."""
    if not (hasattr(teacher_member, "stage_outputs") and hasattr(student, "stage_outputs")):
        return None

    @tf.function
    def stages(images):
        return teacher_member.stage_outputs(images), student.stage_outputs(images)

    linear, reference, batches = None, None, 0
    for batch in evaluation_dataset(split, CKA_BATCH, properties):
        teacher_stages, student_stages = stages(batch["image"])
        if len(teacher_stages) != len(student_stages):
            return None
        if linear is None:
            linear = [kd_metrics.LinearCKA(t.shape[-1], s.shape[-1]) for t, s in zip(teacher_stages, student_stages)]
            reference = np.zeros(len(linear))
        for i, (t, s) in enumerate(zip(teacher_stages, student_stages)):
            linear[i].update_state(t, s)
            if t.shape[-1] == s.shape[-1]:  # the reference's kernel CKA compares channel by channel
                reference[i] += float(kd_metrics.reference_cka(t, s))
            else:
                reference[i] = math.nan
        batches += 1
    out = {f"cka_{i + 1}": float(m.result()) for i, m in enumerate(linear)}
    out.update({f"cka_reference_{i + 1}": float(v / batches) for i, v in enumerate(reference)})
    # A dead layer (no variance) has no CKA: null in results.json, which has no NaN.
    return {k: (None if math.isnan(v) else v) for k, v in out.items()}


def metric_rows(teacher, students, dataset, policy=None, seed=0, batch_size=128, reference=None):
    """Every metric of the teacher ensemble and each student (name -> model)
    on clean test and clean train, and with a policy name on one augmented
    pass over train: a list of rows {"model", "split", metric: value}."""
    spec = StreamSpec(policy, batch_size, seed, 1) if policy else None
    return evaluate(teacher, students, dataset, spec, reference)[0]


def write_rows(rows, json_path, csv_path):
    storage.write_json(json_path, rows)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    storage.write_text(csv_path, text.getvalue())


class SavedModelClassifier:
    """A student SavedModel (serving_default: images -> logits) as a callable."""

    def __init__(self, path):
        self.loaded = tf.saved_model.load(path)
        if "serving_default" not in self.loaded.signatures:
            raise UserError(f"The SavedModel {path} has no serving_default signature.")
        self.signature = self.loaded.signatures["serving_default"]
        (self.input_name, _), = self.signature.structured_input_signature[1].items()

    def __call__(self, x, training=False):
        del training
        outputs = self.signature(**{self.input_name: tf.cast(x, tf.float32)})
        return outputs["logits"] if "logits" in outputs else next(iter(outputs.values()))


def load_classifier(path):
    """A .keras model or a SavedModel directory."""
    if not storage.exists(path):
        raise UserError(f"{path} does not exist.")
    if storage.isdir(path):
        return SavedModelClassifier(path)
    return keras.saving.load_model(path, compile=False)
