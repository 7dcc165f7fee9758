"""One distillation run, end to end: data, teachers (trained and cached if
absent), the Distiller under the chosen strategy, evaluation, and outputs in
the run directory. experiments/distill parses flags and calls `run`."""

import dataclasses
import os
import time

import keras
import tensorflow as tf
from absl import logging

from kd_tf.config import gan as gan_config
from kd_tf.config.datasets import teacher_dataset
from kd_tf.config.distill import DistillConfig
from kd_tf.config.paths import resolve_path
from kd_tf.config.runtime import Runtime
from kd_tf.data import distillation_set, gan_samples, generators, ood, sources, visualize
from kd_tf.data.distillation_set import RecyclingSplit
from kd_tf.data.pipeline import distributed_stream, evaluation_dataset, stream
from kd_tf.data.policies import Options
from kd_tf.data.stream_spec import StreamSpec, steps_per_epoch
from kd_tf.distill.device_sampling import DeviceSampler
from kd_tf.distill.distiller import Distiller
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.errors import UserError
from kd_tf.jobs import gan as gan_job
from kd_tf.jobs import teachers as teachers_job
from kd_tf.models.layers import synchronized_batch_norm
from kd_tf.models.registry import build_model
from kd_tf.train import (
    accelerator,
    evaluation,
    export,
    initialisation,
    precision,
    storage,
    summaries,
    teacher_store,
    workers,
)
from kd_tf.train.callbacks.epoch_progress import EpochProgress
from kd_tf.train.callbacks.epoch_variable import EpochVariable
from kd_tf.train.callbacks.metrics_csv import MetricsCsv, read_rows
from kd_tf.train.callbacks.non_finite_loss_guard import NonFiniteLossGuard
from kd_tf.train.callbacks.preemption import SaveOnPreemption
from kd_tf.train.callbacks.save_checkpoints import checkpoint_callback
from kd_tf.train.callbacks.tensorboard_scalars import TensorBoardScalars
from kd_tf.train.checkpoints import for_distiller, has_checkpoint
from kd_tf.train.keras_workarounds import fit_on_distributed_data
from kd_tf.train.optimizers import make_optimizer
from kd_tf.train.run_dir import RunDir
from kd_tf.train.strategy import make_strategy


_UNREAD = object()  # Plan.manifest before the default teacher directory is read


@dataclasses.dataclass(frozen=True)
class Plan:
    """A run with every default filled in and its paths absolute."""
    config: DistillConfig
    output_dir: str
    teacher_dir: str
    recipe_requested: bool  # --teacher_recipe was given: an existing ensemble must match it
    # The manifest of a given --teacher_dir, read to resolve the config (None: no ensemble
    # there yet); a default teacher directory is read by `prepare`, after the finished check.
    manifest: object = _UNREAD


def plan(config, runtime):
    """Resolves the config (the teacher architecture and recipe come from an
    existing ensemble's manifest) and the run's directories."""
    manifest = teacher_store.read_manifest(resolve_path(config.teacher_dir)) if config.teacher_dir else _UNREAD
    read = manifest if manifest is not _UNREAD else None
    requested = config.teacher_recipe is not None
    config = config.resolved(read.architecture if read else None, read.recipe_name if read else None,
                             on_tpu=runtime.strategy == "tpu")
    output_dir = resolve_path(runtime.output_dir or os.path.join("runs", config.run_name()))
    return Plan(config, output_dir, resolve_path(config.teacher_dir), requested, manifest)


def recycling_split(config, train):
    """How the train split is halved for data recycling (--split_indices or seed 0)."""
    if config.split_indices:
        return distillation_set.read_split_indices(resolve_path(config.split_indices), len(train))
    return RecyclingSplit()


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a run trains on, each part built once: the distillation set, its
    stream, the student recipe and steps per epoch, the recycling split (the
    teachers' too) and the generator's path where the run samples from one."""
    data: object  # a DistillationSet, or a streamed split
    spec: StreamSpec
    recipe: object  # kd_tf.config.recipes.Recipe
    steps: int
    recycling: RecyclingSplit
    generator_path: str | None = None  # --aug=gan: for the on-device sampler


def build_inputs(config, dataset, replicas, data_dir=None, samples_path=None):
    """The Inputs of a resolved config; --gan_samples are read from
    `samples_path` where a run has stored them, else generated (and only then
    is a generator needed)."""
    if config.dataset == "emnist_for_mnist" and config.alpha > 0:
        raise UserError("--alpha > 0 needs true labels, and emnist_for_mnist's EMNIST rows have no MNIST label (the "
                        "reference gives them random ones, which carry no information).")
    if dataset.properties.streaming and (config.aug == "ood" or config.distill_splits or config.data_fraction):
        raise UserError(f"{dataset.name} is streamed: --aug=ood, --distill_splits and --data_fraction need an "
                        "in-memory dataset.")
    splits = (distillation_set.parse_splits(config.distill_splits, config.split_temperatures, config.temperature)
              if config.distill_splits else None)
    extra = None
    if config.aug == "ood":
        extra = ood.load(config.ood_dataset, config.ood_count, dataset.properties.image_shape, data_dir)
    if config.gan_samples:
        if config.aug == "ood" or config.distill_splits or dataset.properties.streaming:
            raise UserError("--gan_samples adds SN-GAN images to an in-memory train split; it does not combine with "
                            "--aug=ood, --distill_splits or a streamed dataset.")

        def sampler():
            return _load_generator(config, generator_for(config, data_dir), dataset.properties)

        extra = gan_samples.as_split(stored_or_new_samples(samples_path, sampler, config.gan_samples))
    recycling = recycling_split(config, dataset.train)
    data = (dataset.train if dataset.properties.streaming else
            distillation_set.build(dataset.train, config.temperature, splits, config.data_fraction, extra,
                                   recycling))
    generator = generator_path = None
    if config.aug == "gan":
        generator_path = generator_for(config, data_dir)
        generator = _load_generator(config, generator_path, dataset.properties)
    recipe = config.student_recipe()
    spec = StreamSpec(config.aug, recipe.batch_size, config.seed, recipe.epochs,
                      Options(rotation_degrees=config.rotation_degrees, noise_prob=config.noise_prob),
                      generator, config.synth_ratio, config.synth_temperature, config.temperature,
                      synthetic_on_device=config.aug == "gan" and config.gan_sampling == "device")
    sizes = data.parts if not dataset.properties.streaming and len(data.parts) > 1 else len(data)
    return Inputs(data, spec, recipe, steps_per_epoch(sizes, spec, replicas), recycling, generator_path)


def _load_generator(config, path, properties):
    generator = generators.load(path, config.generator_bn)
    generators.check_matches(generator, properties.image_shape)
    return generator


def stored_or_new_samples(path, generator_fn, count):
    """The SN-GAN samples a run stored at `path` (a resumed run reads its own),
    else `count` new ones from generator_fn()."""
    if path and storage.exists(path):
        images = storage.load_npz(path)["images"]
        if len(images) != count:
            raise UserError(f"{path} holds {len(images):,} SN-GAN samples, not --gan_samples={count:,}; delete it "
                            "to generate them again.")
        return images
    logging.info("Generating %d SN-GAN samples for the distillation set (seed %d)", count, gan_samples.SEED)
    return gan_samples.generate(generator_fn(), count)


def generator_for(config, data_dir=None):
    """--generator, or on the embedded data the quick SN-GAN of train_gan,
    trained on first use and then reused (as teachers are)."""
    if config.generator:
        return resolve_path(config.generator)
    if config.dataset != "mnist5k":
        raise UserError("--aug=gan needs --generator=PATH: a .keras file or SavedModel mapping z to images "
                        "in [-1, 1] (experiments/train_gan writes one).")
    output_dir = resolve_path(gan_config.default_output_dir(config.dataset))
    path = gan_config.generator_path(output_dir)
    if not storage.exists(path):
        logging.info("No generator for mnist5k yet: training one into %s (a few minutes).", output_dir)
        gan_job.run(gan_config.GanConfig(dataset=config.dataset, seed=config.seed),
                    Runtime(data_dir=data_dir, output_dir=output_dir))
    return path


def log_batch_grid(log_dir, data, properties, spec):
    """The first distillation batch, rows marked by kind, as a TensorBoard image."""
    if properties.kind != "image":
        return
    batch = next(iter(stream(data, properties, spec).take(1)))
    summaries.write_image(log_dir, "distillation_batch",
                          visualize.grid(batch["image"].numpy(), visualize.row_kinds(batch, spec.real_per_replica())))


SUMMARY_KEYS = ["loss", "agreement", "kl", "val_accuracy", "val_agreement", "val_kl"]


def completed_results(output_dir):
    """The results of a finished run in output_dir, or None."""
    run_dir = RunDir(output_dir)
    if not run_dir.is_complete():
        return None
    return storage.read_json(run_dir.results_json)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """Every input of a run, each read once, before a model is built: the
    resolved config and paths, the dataset, the Inputs and the teachers
    (trained first where missing) with the members the student learns from."""
    plan: Plan
    strategy: object
    dataset: object
    inputs: Inputs
    manifest: teacher_store.Manifest
    indices: tuple

    @property
    def config(self):
        return self.plan.config

    @property
    def chief(self):
        return workers.is_chief(self.strategy)


def prepare(the_plan, runtime, strategy):
    """Loads the dataset, builds the Inputs and makes sure of the teachers
    (a missing SN-GAN or teacher member is trained here, as its own job would)."""
    config = the_plan.config
    dataset = sources.load(config.dataset, runtime.data_dir, emnist_upright=config.emnist_upright)
    logging.info("Dataset %s: %d train, %d test examples", dataset.name, len(dataset.train), len(dataset.test))
    inputs = build_inputs(config, dataset, strategy.num_replicas_in_sync, runtime.data_dir,
                          samples_path=None if runtime.overwrite else RunDir(the_plan.output_dir).gan_samples)
    existing = (the_plan.manifest if the_plan.manifest is not _UNREAD
                else teacher_store.read_manifest(the_plan.teacher_dir))
    manifest, indices = select_teachers(config, dataset, the_plan.teacher_dir, strategy, existing, inputs.recycling,
                                        the_plan.recipe_requested, runtime)
    return Prepared(the_plan, strategy, dataset, inputs, manifest, tuple(indices))


def run(config, runtime, flags_text=""):
    """Runs a distillation, or resumes it from its run directory's last
    checkpoint. A finished run is not redone unless runtime.overwrite: its
    results come back with "finished_before": True."""
    start = time.time()
    the_plan = plan(config, runtime)
    if not runtime.overwrite:
        finished = completed_results(the_plan.output_dir)
        if finished is not None:
            return {**finished, "finished_before": True}
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    logging.info("Strategy %s with %d replica(s)%s", type(strategy).__name__, strategy.num_replicas_in_sync,
                 "" if workers.is_chief(strategy) else
                 "; a non-chief worker: it writes nothing into the run directory")
    prepared = prepare(the_plan, runtime, strategy)
    trained = train(prepared, runtime, flags_text)
    return write_results(prepared, trained, runtime, start)


@dataclasses.dataclass(frozen=True)
class Trained:
    """What training leaves for the results: the models and how the student started."""
    teacher: TeacherEnsemble
    student: object
    init: str
    settings: dict  # the execution settings used (jit, steps per execution, BatchNorm sync)


def build_distiller(prepared, runtime, run_dir, flags_text):
    """Under the strategy: the teachers, the student (initialised, or to be
    restored), the Distiller compiled with its optimizer. The chief creates
    the run directory once the teachers have loaded."""
    config, strategy, chief, inputs = prepared.config, prepared.strategy, prepared.chief, prepared.inputs
    teacher_dir, output_dir, props = prepared.plan.teacher_dir, prepared.plan.output_dir, prepared.dataset.properties
    sync_bn = accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy)
    jit_compile = accelerator.jit_compile(runtime.jit_compile, strategy)
    executions = accelerator.steps_per_execution(runtime.steps_per_execution, strategy, inputs.steps)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        members = teacher_store.load_members(teacher_dir, prepared.manifest, prepared.indices,
                                             config.teacher_precision)
        teacher = TeacherEnsemble(members)
        if chief:  # the teachers load: from here on the run writes its directory
            if runtime.overwrite:
                storage.rmtree(output_dir)
            run_dir.create()
            storage.write_text(run_dir.flags, flags_text)
            if config.gan_samples and not storage.exists(run_dir.gan_samples):  # the run's own, for a resume
                data = inputs.data
                storage.save_npz(run_dir.gan_samples, images=data.images[len(data) - config.gan_samples:])
        with precision.policy(config.precision), synchronized_batch_norm(sync_bn):
            student = build_model(config.student_arch, props.num_classes, props.image_shape,
                                  **props.model_kwargs())
        init_weights = prepared.manifest.members[prepared.indices[0]].init_weights  # imported members have none
        # Under --overwrite every worker starts afresh, whether or not the chief has deleted the old run yet.
        resuming = not runtime.overwrite and has_checkpoint(run_dir.checkpoints)
        if resuming:
            # The checkpoint holds the student; initialising again (for interpolate, a
            # BN pass over the training data) would be overwritten.
            init = f"{config.init}, restored from the run's checkpoint"
        else:
            init = initialisation.initialise(
                student, config.init, members[0], os.path.join(teacher_dir, init_weights) if init_weights else None,
                config.init_lambda, prepared.dataset.train, props, strategy)
            if chief:
                student.save_weights(run_dir.student_init)  # where training starts (experiments/loss_plane)
        sampler = None
        if inputs.spec.synthetic_on_device:
            # The generator's variables on the devices, with the models' (the stream's
            # copy stays on the host for the final pass of the policy over train).
            sampler = DeviceSampler(_load_generator(config, inputs.generator_path, props),
                                    inputs.spec.synthetic_rows(strategy.num_replicas_in_sync)[0],
                                    config.synth_temperature, config.seed)
        distiller = Distiller(student, teacher, temperature=config.temperature, alpha=config.alpha,
                              loss=config.loss, hard_label=config.hard_label,
                              label_corruption=config.label_corruption, epochs=inputs.recipe.epochs,
                              seed=config.seed, cvx_beta=config.cvx_beta, sampler=sampler)
        optimizer, schedule = make_optimizer(inputs.recipe, inputs.steps, config.optimizer)
        optimizer = precision.with_loss_scaling(optimizer, config.precision)
        distiller.compile(optimizer=optimizer, jit_compile=jit_compile, steps_per_execution=executions)
        fit_on_distributed_data(distiller)
        optimizer.build(student.trainable_variables)  # so that a checkpoint restores its slots
    settings = {"jit_compile_used": jit_compile, "steps_per_execution_used": executions,
                "sync_batchnorm_used": sync_bn}
    return distiller, schedule, resuming, Trained(teacher, student, init, settings)


def train(prepared, runtime, flags_text=""):
    """Trains the student from its start or its last checkpoint to the
    recipe's last epoch, with TensorBoard, metrics.csv, checkpoints and a
    checkpoint on SIGTERM."""
    config, strategy, chief, inputs = prepared.config, prepared.strategy, prepared.chief, prepared.inputs
    data, spec, recipe, steps = inputs.data, inputs.spec, inputs.recipe, inputs.steps
    props = prepared.dataset.properties
    run_dir = RunDir(prepared.plan.output_dir)
    distiller, schedule, resuming, trained = build_distiller(prepared, runtime, run_dir, flags_text)
    executions = trained.settings["steps_per_execution_used"]

    checkpoint = for_distiller(run_dir.checkpoints, distiller, chief)
    start_step = checkpoint.restore() if resuming else 0
    start_epoch, step_in_epoch = divmod(start_step, steps)
    if start_step:
        logging.info("Resuming %s at epoch %d, step %d of %d (global step %d)", run_dir.root, start_epoch + 1,
                     step_in_epoch, steps, start_step)
    elif chief:
        summaries.write_text(run_dir.tensorboard, "flags", "```\n" + flags_text + "\n```")
        summaries.write_hparams(run_dir.tensorboard, hparams(config, recipe))
        log_batch_grid(run_dir.tensorboard, data, props, spec)
    logging.info("Distilling %d x %s (members %s) into %s (init: %s) with --aug=%s, --loss=%s, tau=%g, alpha=%g "
                 "on %d rows: %d epochs of %d steps, %s lr %g cosine to %g, weight decay %g",
                 config.num_teachers, config.teacher_arch, list(prepared.indices), config.student_arch,
                 trained.init, config.aug, config.loss, config.temperature, config.alpha, len(data), recipe.epochs,
                 steps, config.optimizer, recipe.lr, recipe.final_lr, recipe.weight_decay)
    logging.info("Precision: student %s, teachers %s; XLA %s; %d step(s) per execution; BatchNorm %s",
                 config.precision, config.teacher_precision, "on" if trained.settings["jit_compile_used"] else "off",
                 executions, "synchronised over replicas" if trained.settings["sync_batchnorm_used"] else
                 "per replica")
    # When teachers and student compute in the same reduced precision, images
    # cross to the device in it: their first layers would cast them anyway.
    feed_dtype = precision.compute_dtype(config.precision) if config.precision == config.teacher_precision else None
    cached_logits = cached_teacher_logits(config, runtime, data, props, trained.teacher, strategy)
    guard = NonFiniteLossGuard()
    test_data = evaluation_dataset(prepared.dataset.test, 500, props)

    def fit(first_epoch, last_epoch, steps_per_epoch, skip_steps=0):
        # A resume that starts mid-execution (another --steps_per_execution, or a
        # step checkpoint) runs the rest of that epoch in executions that divide it.
        wanted = accelerator.largest_divisor_up_to(steps_per_epoch, executions)
        if distiller.steps_per_execution != wanted:
            distiller.steps_per_execution, distiller.train_function = wanted, None
        distiller.fit(
            distributed_stream(strategy, data, props, spec, first_epoch, skip_steps, feed_dtype, cached_logits),
            epochs=last_epoch,
            initial_epoch=first_epoch, steps_per_epoch=steps_per_epoch, validation_data=test_data, verbose=0,
            # The checkpoint comes last: a saved epoch implies its logs are written.
            callbacks=[
                EpochVariable(distiller.epoch), guard,
                TensorBoardScalars(run_dir.tensorboard, schedule.epoch_value, enabled=chief),
                MetricsCsv(run_dir.metrics_csv, first_epoch, enabled=chief),
                EpochProgress("student", recipe.epochs, SUMMARY_KEYS),
                checkpoint_callback(checkpoint, guard, runtime.checkpoint_every_steps),
                preemption,
            ])
        guard.raise_if_failed(checkpoint.latest)

    # On SIGTERM: a checkpoint of the step reached, then exit (a rerun resumes there).
    def save_now():
        step = int(distiller.optimizer.iterations.numpy())
        checkpoint.save(step)
        logging.info("Checkpoint of global step %d (epoch %d, step %d of %d) saved.", step, step // steps + 1,
                     step % steps, steps)

    preemption = SaveOnPreemption(strategy, save_now, "the distillation")
    fit_to_the_end(fit, start_epoch, step_in_epoch, steps, recipe.epochs, preemption)
    return trained


def fit_to_the_end(fit, start_epoch, step_in_epoch, steps, epochs, preemption):
    """fit(first_epoch, last_epoch, steps_per_epoch, skip_steps) from a
    (resumed) start to the last epoch: a mid-epoch resume finishes that epoch
    from its next batch first. SIGTERM is watched until training ends."""
    try:
        if step_in_epoch:
            fit(start_epoch, start_epoch + 1, steps - step_in_epoch, skip_steps=step_in_epoch)
            start_epoch += 1
        if start_epoch < epochs:
            fit(start_epoch, epochs, steps)
    finally:
        preemption.close()


def write_results(prepared, trained, runtime, start):
    """The final evaluation, the exported student and results.json (the chief's)."""
    config, strategy, chief, dataset = prepared.config, prepared.strategy, prepared.chief, prepared.dataset
    output_dir, run_dir = prepared.plan.output_dir, RunDir(prepared.plan.output_dir)
    data = prepared.inputs.data
    results = final_evaluation(dataset, trained.teacher, trained.student, run_dir, prepared.inputs.spec, strategy,
                               chief, distillation_data=data if config.distill_splits or config.gan_samples else None)
    export.save_student(trained.student, run_dir, dataset.properties.image_shape, strategy)
    if not chief:  # the chief writes (and reports) the run
        return {**results, "non_chief": True, "runtime": {"output_dir": output_dir}}
    results["online"] = last_epoch_online_metrics(run_dir.metrics_csv)
    results["config"] = dataclasses.asdict(config)
    # Float sums reorder with the thread count: results repeat exactly for the same count.
    results["runtime"] = {**dataclasses.asdict(runtime), "output_dir": output_dir,
                          "cpus": len(os.sched_getaffinity(0)),
                          "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "all",
                          "replicas": strategy.num_replicas_in_sync, **trained.settings}
    results["teacher_dir"] = prepared.plan.teacher_dir
    results["teacher_members"] = [{"index": i, **prepared.manifest.members[i].to_json()} for i in prepared.indices]
    results["init"] = trained.init
    results["student_recipe"] = dataclasses.asdict(prepared.inputs.recipe)  # what the run trained with, lr included
    results["wall_seconds"] = round(time.time() - start, 1)
    storage.write_json(run_dir.results_json, results)
    return results


def cached_teacher_logits(config, runtime, data, props, teacher, strategy):
    """The teachers' logits on every row of the distillation set, for
    --aug=none (whose inputs repeat exactly each epoch): one pass here instead
    of one per epoch. None where the teachers must run in the step."""
    if not runtime.cache_teacher_logits or config.aug != "none" or props.streaming or config.loss == "avg_sym_kl":
        return None
    _, logits = evaluation.predict(teacher, data, props, strategy=strategy,
                                   label=f"Teacher logits on the {len(data):,} distillation rows (--aug=none: "
                                         f"computed once, read by every epoch)")
    return logits


def select_teachers(config, dataset, teacher_dir, strategy, existing, recycling, recipe_requested=False,
                    runtime=Runtime()):
    """Trains what is missing and picks members offset .. offset+m-1 of the
    ensemble whose manifest is `existing` (None: no ensemble yet). An
    ensemble that can train grows to offset+m members; an imported one wraps.
    Teachers of emnist_for_mnist learn from MNIST (the teacher dataset)."""
    split = "d0" if config.distill_splits else "all"
    trainable = existing is None or existing.trained
    if config.teacher_pool is not None:
        if config.num_teachers > config.teacher_pool:
            raise UserError(f"--num_teachers={config.num_teachers} is more than --teacher_pool={config.teacher_pool}.")
        wanted = config.teacher_pool
    else:
        wanted = config.num_teachers + (config.teacher_offset if trainable else 0)
    spec = teachers_job.EnsembleSpec(
        config.teacher_arch, config.teacher_recipe_for_new_members(), config.teacher_recipe, split,
        recycling, recipe_requested=recipe_requested,
        jit_compile=accelerator.jit_compile(runtime.jit_compile, strategy),
        sync_batchnorm=accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy))
    source = dataset
    if teacher_dataset(config.dataset) != dataset.name and len(existing.members if existing else ()) < wanted:
        source = sources.load(teacher_dataset(config.dataset), runtime.data_dir)
    manifest = teachers_job.grow_ensemble(teacher_dir, existing, source, spec, wanted, strategy)
    pool = (dataclasses.replace(manifest, members=manifest.members[:config.teacher_pool]) if config.teacher_pool
            else manifest)
    return manifest, teacher_store.member_indices(pool, config.num_teachers, config.teacher_offset)


def last_epoch_online_metrics(metrics_csv):
    """The train-mode metrics on the distillation batches of the last epoch
    (from metrics.csv, so that they survive a resume)."""
    rows = read_rows(metrics_csv)
    return {k: float(v) for k, v in rows[-1].items() if k != "epoch" and not k.startswith("val_")}


def hparams(config, recipe):
    """What TensorBoard's HParams dashboard compares runs by."""
    return {
        "temperature": config.temperature, "alpha": config.alpha, "aug": config.aug,
        "num_teachers": config.num_teachers, "teacher_arch": config.teacher_arch,
        "student_arch": config.student_arch, "loss": config.loss, "dataset": config.dataset,
        "optimizer": config.optimizer, "epochs": recipe.epochs, "init": config.init, "seed": config.seed,
    }


def final_evaluation(dataset, teacher, student, run_dir, spec, strategy=None, chief=True, distillation_data=None):
    """Teacher and student on clean test, clean train, the run's own
    distillation data where it is not the train split (data recycling's D0,
    D1 or both), and one pass of the run's own policy over train (eval mode):
    rows in results.csv, test predictions saved so that the reported numbers
    can be recomputed from them (every worker evaluates; the chief writes).
    With one teacher, the student's test row holds the per-stage CKA of the
    two (Table 1)."""
    extra = (("distillation", distillation_data),) if distillation_data is not None else ()
    rows, predictions = evaluation.evaluate(teacher, {"student": student}, dataset, spec, strategy=strategy,
                                            extra_splits=extra)
    if teacher.num_members == 1:
        cka = evaluation.stage_cka(teacher.members[0], student, dataset.test, dataset.properties)
        if cka:
            next(r for r in rows if r["model"] == "student" and r["split"] == "test").update(cka)
    labels, teacher_logits, students = predictions["test"]
    if chief:
        storage.save_npz(run_dir.predictions, labels=labels, teacher_logits=teacher_logits,
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


def execute(config, runtime):
    """A study's distill job (kd_tf.jobs.kinds): run in runtime.output_dir, the
    config's fields as its flags file, its summary printed to the run's log."""
    flags_text = "\n".join(f"--{k}={v}" for k, v in dataclasses.asdict(config).items() if v is not None)
    print(format_summary(run(config, runtime, flags_text)))
