"""One distillation run, end to end: data, teachers (trained and cached if
absent), the Distiller under the chosen strategy, evaluation, and outputs in
the run directory. Binaries only parse flags and call `run`."""

import csv
import dataclasses
import json
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from kd_tf.data import distillation_set, generators, ood, sources, visualize
from kd_tf.data.pipeline import StreamSpec, distributed_stream, evaluation_dataset, steps_per_epoch, stream
from kd_tf.data.policies import Options
from kd_tf.distill.distiller import Distiller
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.errors import UserError
from kd_tf.models import build_model
from kd_tf.train import checkpoints, evaluation, export, initialisation, teachers
from kd_tf.train.logging import EpochProgress, EpochVariable, TensorBoardScalars, write_text_summary
from kd_tf.train.recipes import student_recipe, teacher_recipe
from kd_tf.train.run_dir import RunDir, resolve_path
from kd_tf.train.strategy import make_strategy


@dataclasses.dataclass(frozen=True)
class DistillConfig:
    dataset: str = "mnist5k"
    data_dir: str | None = None
    aug: str = "mixup"
    num_teachers: int = 3
    temperature: float = 4.0
    alpha: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    output_dir: str | None = None
    teacher_dir: str | None = None
    teacher_arch: str | None = None  # default: the ensemble's, else the dataset's
    student_arch: str | None = None  # default: the dataset's
    strategy: str = "auto"
    tpu: str = ""
    overwrite: bool = False
    # Policy options (REFERENCE.md section 4).
    rotation_degrees: float = 20.0
    noise_prob: float = 0.2
    generator: str | None = None
    synth_ratio: float = 0.25
    synth_temperature: float | None = None  # default: --temperature (the paper)
    ood_dataset: str | None = None  # default: svhn_cropped; sample_photos on mnist5k
    ood_count: int | None = None  # default: 10,000; 1,000 on mnist5k
    distill_splits: str | None = None  # data recycling: d0, d1 or d0,d1
    split_temperatures: str | None = None
    data_fraction: float | None = None
    # Engine options.
    loss: str = "fwd_ce"
    hard_label: str = "argmax"
    label_corruption: float = 0.0
    optimizer: str = "sgd"
    weight_decay: float | None = None  # default: the recipe's (1e-4)
    teacher_offset: int = 0
    init: str = "random"
    init_lambda: float | None = None
    checkpoint_every_steps: int = 0  # 0: checkpoints after every epoch only

    def run_name(self):
        splits = f"-{self.distill_splits.replace(',', '+')}" if self.distill_splits else ""
        return (f"{self.dataset}-{self.teacher_arch}x{self.num_teachers}-to-{self.student_arch}-"
                f"{self.aug}{splits}-t{self.temperature:g}-a{self.alpha:g}-s{self.seed}")



def resolve(config):
    """Fills in what the flags left to defaults: architectures (from the
    ensemble's manifest, else the dataset's) and the teacher directory.
    Paths stay as given; the binary resolves them."""
    default_arch = sources.PROPERTIES[config.dataset].default_arch
    teacher_arch = config.teacher_arch
    if teacher_arch is None and config.teacher_dir:
        manifest = teachers.read_manifest(resolve_path(config.teacher_dir))
        teacher_arch = manifest["architecture"] if manifest else None
    teacher_arch = teacher_arch or default_arch
    recycling = "-d0" if config.distill_splits else ""
    embedded = config.dataset == "mnist5k"
    default_teacher_dir = os.path.join("runs", "teachers", f"{config.dataset}-{teacher_arch}{recycling}")
    return dataclasses.replace(
        config, teacher_arch=teacher_arch, student_arch=config.student_arch or default_arch,
        teacher_dir=config.teacher_dir or default_teacher_dir,
        synth_temperature=config.synth_temperature or config.temperature,
        ood_dataset=config.ood_dataset or (ood.EMBEDDED if embedded else "svhn_cropped"),
        ood_count=config.ood_count or (1000 if embedded else 10_000))


def build_inputs(config, dataset, replicas):
    """The distillation set and the stream spec of a run."""
    if dataset.properties.streaming and (config.aug == "ood" or config.distill_splits or config.data_fraction):
        raise UserError(f"{dataset.name} is streamed: --aug=ood, --distill_splits and --data_fraction need an "
                        "in-memory dataset.")
    splits = (distillation_set.parse_splits(config.distill_splits, config.split_temperatures, config.temperature)
              if config.distill_splits else None)
    extra = None
    if config.aug == "ood":
        extra = ood.load(config.ood_dataset, config.ood_count, dataset.properties.image_shape, config.data_dir)
    data = (dataset.train if dataset.properties.streaming else
            distillation_set.build(dataset.train, config.temperature, splits, config.data_fraction,
                                   config.seed, extra))
    generator = None
    if config.aug == "gan":
        generator = generators.load(generator_for(config))
        generators.check_matches(generator, dataset.properties.image_shape)
    recipe = student_recipe(config.dataset, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                            weight_decay=config.weight_decay)
    spec = StreamSpec(config.aug, recipe.batch_size, config.seed, recipe.epochs,
                      Options(rotation_degrees=config.rotation_degrees, noise_prob=config.noise_prob),
                      generator, config.synth_ratio, config.synth_temperature, config.temperature)
    return data, spec, recipe, steps_per_epoch(len(data), spec, replicas)


def generator_for(config):
    """--generator, or on the embedded data the quick SN-GAN of train_gan,
    trained on first use and then reused (as teachers are)."""
    if config.generator:
        return resolve_path(config.generator)
    if config.dataset != "mnist5k":
        raise UserError("--aug=gan needs --generator=PATH: a .keras file or SavedModel mapping z to images "
                        "in [-1, 1] (experiments/train_gan writes one).")
    from kd_tf.train import gan_job

    output_dir = resolve_path(gan_job.default_output_dir(config.dataset))
    path = gan_job.generator_path(output_dir)
    if not os.path.exists(path):
        logging.info("No generator for mnist5k yet: training one into %s (a few minutes).", output_dir)
        gan_job.run(gan_job.GanConfig(dataset=config.dataset, seed=config.seed), output_dir)
    return path


def log_batch_grid(log_dir, data, properties, spec):
    """The first distillation batch, rows marked by kind, as a TensorBoard image."""
    if properties.kind != "image":
        return
    batch = next(iter(stream(data, properties, spec).take(1)))
    image = visualize.grid(batch["image"].numpy(), visualize.row_kinds(batch, spec.real_per_replica()))
    writer = tf.summary.create_file_writer(f"{log_dir}/train")
    with writer.as_default():
        tf.summary.image("distillation_batch", image[None], step=0)
    writer.close()


SUMMARY_KEYS = ["loss", "agreement", "kl", "val_accuracy", "val_agreement", "val_kl"]


def completed_results(output_dir):
    """The results of a finished run in output_dir, or None."""
    run_dir = RunDir(output_dir)
    if not run_dir.is_complete():
        return None
    with open(run_dir.results_json) as f:
        return json.load(f)


def run(config, output_dir, teacher_dir, flags_text=""):
    """Runs a distillation, or resumes it from output_dir's last checkpoint;
    output_dir and teacher_dir are absolute paths. With config.overwrite, what
    output_dir holds is replaced."""
    start = time.time()
    config = resolve(config)
    run_dir = RunDir(output_dir)
    if config.overwrite and os.path.isdir(output_dir):
        shutil.rmtree(output_dir)
    run_dir.create()
    with open(run_dir.flags, "w") as f:
        f.write(flags_text)

    strategy = make_strategy(config.strategy, config.tpu)
    logging.info("Strategy %s with %d replica(s)", type(strategy).__name__, strategy.num_replicas_in_sync)
    dataset = sources.load(config.dataset, config.data_dir)
    props = dataset.properties
    logging.info("Dataset %s: %d train, %d test examples", dataset.name, len(dataset.train), len(dataset.test))

    data, spec, recipe, steps = build_inputs(config, dataset, strategy.num_replicas_in_sync)
    manifest, indices = select_teachers(config, dataset, teacher_dir, strategy)

    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        members = teachers.load_members(teacher_dir, manifest, indices)
        teacher = TeacherEnsemble(members)
        student = build_model(config.student_arch, props.num_classes, props.image_shape, **props.model_kwargs())
        init_weights = manifest["members"][indices[0]].get("init_weights")  # imported members have none
        if tf.train.latest_checkpoint(run_dir.checkpoints):
            # The checkpoint holds the student; initialising again (for interpolate, a
            # BN pass over the training data) would be overwritten.
            init = f"{config.init}, restored from the run's checkpoint"
        else:
            init = initialisation.initialise(
                student, config.init, members[0], os.path.join(teacher_dir, init_weights) if init_weights else None,
                config.init_lambda, dataset.train, props)
        distiller = Distiller(student, teacher, temperature=config.temperature, alpha=config.alpha,
                              loss=config.loss, hard_label=config.hard_label,
                              label_corruption=config.label_corruption, epochs=recipe.epochs, seed=config.seed)
        optimizer, schedule = teachers.make_optimizer(recipe, steps, config.optimizer)
        distiller.compile(optimizer=optimizer, jit_compile=False)
        optimizer.build(student.trainable_variables)  # so that a checkpoint restores its slots

    checkpoint = checkpoints.RunCheckpoint(run_dir.checkpoints, distiller)
    start_step = checkpoint.restore()
    start_epoch, step_in_epoch = divmod(start_step, steps)
    if start_step:
        logging.info("Resuming %s at epoch %d, step %d of %d (global step %d)", output_dir, start_epoch + 1,
                     step_in_epoch, steps, start_step)
        trim_metrics_csv(run_dir.metrics_csv, start_epoch)
    else:
        write_text_summary(run_dir.tensorboard, "flags", "```\n" + flags_text + "\n```")
        write_hparams(run_dir.tensorboard, config, recipe)
        log_batch_grid(run_dir.tensorboard, data, props, spec)
    logging.info("Distilling %d x %s (members %s) into %s (init: %s) with --aug=%s, --loss=%s, tau=%g, alpha=%g "
                 "on %d rows: %d epochs of %d steps", config.num_teachers, config.teacher_arch, indices,
                 config.student_arch, init, config.aug, config.loss, config.temperature, config.alpha, len(data),
                 recipe.epochs, steps)
    guard = checkpoints.NonFiniteLossGuard()
    test_data = evaluation_dataset(dataset.test, 500, props)

    def fit(first_epoch, last_epoch, steps_per_epoch, skip_steps=0):
        distiller.fit(
            distributed_stream(strategy, data, props, spec, first_epoch, skip_steps), epochs=last_epoch,
            initial_epoch=first_epoch, steps_per_epoch=steps_per_epoch, validation_data=test_data, verbose=0,
            # The checkpoint comes last: a saved epoch implies its logs are written.
            callbacks=[
                EpochVariable(distiller.epoch), guard,
                TensorBoardScalars(run_dir.tensorboard, schedule.epoch_value),
                keras.callbacks.CSVLogger(run_dir.metrics_csv, append=start_step > 0 or first_epoch > 0),
                EpochProgress("student", recipe.epochs, SUMMARY_KEYS),
                checkpoints.SaveCheckpoints(checkpoint, guard, config.checkpoint_every_steps),
            ])
        guard.raise_if_failed(checkpoint)

    if step_in_epoch:  # a mid-epoch resume: finish that epoch from its next batch first
        fit(start_epoch, start_epoch + 1, steps - step_in_epoch, skip_steps=step_in_epoch)
        start_epoch += 1
    if start_epoch < recipe.epochs:
        fit(start_epoch, recipe.epochs, steps)

    results = final_evaluation(dataset, teacher, student, run_dir, spec)
    results["online"] = last_epoch_online_metrics(run_dir.metrics_csv)
    export.save_student(student, run_dir, props.image_shape)
    results["config"] = dataclasses.asdict(config)
    results["teacher_dir"] = teacher_dir
    results["teacher_members"] = [{"index": i, **manifest["members"][i]} for i in indices]
    results["init"] = init
    results["wall_seconds"] = round(time.time() - start, 1)
    with open(run_dir.results_json, "w") as f:
        json.dump(results, f, indent=2)
    return results


def select_teachers(config, dataset, teacher_dir, strategy):
    """Trains what is missing and picks members offset .. offset+m-1. An
    ensemble that can train grows to offset+m members; an imported one wraps."""
    split = "d0" if config.distill_splits else "all"
    existing = teachers.read_manifest(teacher_dir)
    trainable = existing is None or existing.get("recipe") is not None
    wanted = config.num_teachers + (config.teacher_offset if trainable else 0)
    manifest = teachers.ensure_ensemble(teacher_dir, dataset, config.teacher_arch, wanted,
                                        teacher_recipe(config.dataset), strategy, train_split=split)
    return manifest, teachers.member_indices(manifest, config.num_teachers, config.teacher_offset)


def trim_metrics_csv(metrics_csv, first_epoch_to_redo):
    """Drops rows of epochs a resume redoes: a run killed after logging an
    epoch but before checkpointing it must not log that epoch twice."""
    if not os.path.exists(metrics_csv):
        return
    with open(metrics_csv, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) < first_epoch_to_redo]
    with open(metrics_csv, "w", newline="") as f:
        csv.writer(f).writerows(kept)


def last_epoch_online_metrics(metrics_csv):
    """The train-mode metrics on the distillation batches of the last epoch
    (from metrics.csv, so that they survive a resume)."""
    with open(metrics_csv) as f:
        rows = list(csv.DictReader(f))
    return {k: float(v) for k, v in rows[-1].items() if k != "epoch" and not k.startswith("val_")}


def write_hparams(log_dir, config, recipe):
    """An HParams summary, so that sweeps compare in TensorBoard's HParams dashboard."""
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(f"{log_dir}/test")
    with writer.as_default():
        hp.hparams({
            "temperature": config.temperature, "alpha": config.alpha, "aug": config.aug,
            "num_teachers": config.num_teachers, "teacher_arch": config.teacher_arch,
            "student_arch": config.student_arch, "loss": config.loss, "dataset": config.dataset,
            "optimizer": config.optimizer, "epochs": recipe.epochs, "init": config.init, "seed": config.seed,
        })
    writer.close()


def final_evaluation(dataset, teacher, student, run_dir, spec):
    """Teacher and student on clean test, clean train and one pass of the run's
    own policy over train (eval mode): rows in results.csv, test predictions
    saved so that the reported numbers can be recomputed from them."""
    rows, predictions = evaluation.evaluate(teacher, {"student": student}, dataset, spec)
    labels, teacher_logits, students = predictions["test"]
    np.savez_compressed(run_dir.predictions, labels=labels, teacher_logits=teacher_logits,
                        student_logits=students["student"])
    evaluation.write_rows(rows, os.path.join(run_dir.root, "results_rows.json"), run_dir.results_csv)
    nested = {}
    for row in rows:
        metrics = {k: v for k, v in row.items() if k not in ("model", "split")}
        nested.setdefault(row["model"], {})[row["split"]] = metrics
    return {**nested, "rows": rows}


def format_summary(results):
    """The final table printed at the end of a run."""
    t, s = results["teacher"]["test"], results["student"]["test"]
    rows = [
        ("", "accuracy %", "NLL", "ECE %"),
        ("teacher ensemble (test)", f"{t['accuracy']:.2f}", f"{t['nll']:.4f}", f"{t['ece']:.2f}"),
        ("student (test)", f"{s['accuracy']:.2f}", f"{s['nll']:.4f}", f"{s['ece']:.2f}"),
    ]
    lines = ["", *("{:<26}{:>12}{:>10}{:>9}".format(*r) for r in rows), ""]
    train = results["student"].get("train")
    augmented = {k[len("train_"):]: v for k, v in results["student"].items() if k.startswith("train_")}
    lines += [
        f"test agreement {s['agreement']:.2f}%   test KL(teacher||student) {s['kl']:.4f}",
        (f"train agreement {train['agreement']:.2f}% (clean, eval mode)   " if train else "")
        + "".join(f"augmented train ({policy}) agreement {v['agreement']:.2f}% (eval mode)"
                  for policy, v in augmented.items()),
        f"distillation-batch agreement {results['online']['agreement']:.2f}% (last epoch, train mode)",
        f"wall time {results['wall_seconds']:.1f}s",
    ]
    return "\n".join(lines)
