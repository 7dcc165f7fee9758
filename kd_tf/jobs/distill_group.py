"""Several distill runs that may share a teacher pass (issue 27), trained as
one job: one stream, each teacher member any student needs run once per
batch (DistillerGroup), and each student written to its own run directory
exactly as its single run writes it (flags, checkpoints, metrics.csv,
TensorBoard, results.json, predictions, export), so that a study can mix
grouped and single runs and a rerun of either finds the other's results.

Each student's results equal its single run's to float rounding
(tests/distill_group_test.py): the rows a single run streams differ only in
their temperature column, which the group streams once per student (an input,
as in the single run: a constant tau in the step rounds differently, and at
tau 4 training amplifies that to whole points of agreement); and each student starts from its single run's weights, because
the job reseeds and loads that student's own members before building it, as
`distill.build_distiller` does (loading a member draws from Keras's global
RNG, so a student's initial weights depend on how many members its run
loaded first)."""

import dataclasses
import os
import time

import keras
from absl import logging

from kd_tf.config.distill import group_key, why_not_grouped
from kd_tf.data.pipeline import distributed_stream, evaluation_dataset
from kd_tf.distill.group import DistillerGroup, StudentSettings
from kd_tf.errors import UserError
from kd_tf.jobs import distill
from kd_tf.models.layers import synchronized_batch_norm
from kd_tf.models.registry import build_model
from kd_tf.train import accelerator, initialisation, precision, storage, summaries, teacher_store
from kd_tf.train.callbacks.epoch_progress import EpochProgress
from kd_tf.train.callbacks.epoch_variable import EpochVariable
from kd_tf.train.callbacks.metrics_csv import MetricsCsv
from kd_tf.train.callbacks.non_finite_loss_guard import NonFiniteLossGuard
from kd_tf.train.callbacks.preemption import SaveOnPreemption
from kd_tf.train.callbacks.save_checkpoints import checkpoint_callback
from kd_tf.train.callbacks.student_view import StudentView
from kd_tf.train.callbacks.tensorboard_scalars import TensorBoardScalars
from kd_tf.train.checkpoints import for_distiller, has_checkpoint, latest_step
from kd_tf.train.keras_workarounds import fit_on_distributed_data
from kd_tf.train.optimizers import make_optimizer
from kd_tf.train.run_dir import RunDir
from kd_tf.train.strategy import make_strategy


def check_groupable(configs):
    """A UserError unless the resolved `configs` may share one teacher pass."""
    if len(configs) < 2:
        raise UserError(f"A group needs at least 2 distill runs, not {len(configs)}.")
    for config in configs:
        reason = why_not_grouped(config)
        if reason:
            raise UserError(f"{config.run_name()} cannot be grouped: {reason}.")
        if group_key(config) != group_key(configs[0]):
            differing = [f.name for f in dataclasses.fields(config)
                         if getattr(group_key(config), f.name) != getattr(group_key(configs[0]), f.name)]
            raise UserError(f"{config.run_name()} and {configs[0].run_name()} differ in {', '.join(differing)}: "
                            "only m, the trial's members, tau, alpha and a soft loss may differ within a group.")


@dataclasses.dataclass
class _Student:
    prepared: distill.Prepared
    runtime: object
    run_dir: RunDir
    flags_text: str
    members: tuple = ()  # its own loaded members (only their RNG draws matter; the pool's copies are used)
    student: object = None
    init: str = ""
    resuming: bool = False
    optimizer: object = None
    schedule: object = None


def _prepare(configs, runtime, runtimes, strategy):
    """One Prepared per student; the dataset and the stream are the first's, read once."""
    plans = [distill.plan(c, rt) for c, rt in zip(configs, runtimes)]
    if len({p.output_dir for p in plans}) != len(plans):
        raise UserError("The runs of a group need run directories of their own: give each its output directory.")
    check_groupable([p.config for p in plans])
    if len({p.teacher_dir for p in plans}) != 1:
        raise UserError("The runs of a group must read one teacher directory.")
    first = distill.prepare(plans[0], runtime, strategy)
    prepared, manifest = [first], first.manifest
    for the_plan in plans[1:]:
        # The pool grows to what every student needs; each student's members as its run picks them.
        manifest, indices = distill.select_teachers(the_plan.config, first.dataset, the_plan.teacher_dir, strategy,
                                                    manifest, first.inputs.recycling, the_plan.recipe_requested,
                                                    runtime)
        prepared.append(distill.Prepared(the_plan, strategy, first.dataset, first.inputs, manifest, tuple(indices)))
    return [dataclasses.replace(p, manifest=manifest) for p in prepared]


def _build_student(s, runtime, strategy, sync_bn):
    """As distill.build_distiller does for its run: reseed, load the run's members, create the run
    directory (chief), build and initialise the student (or mark it for restoring), its optimizer."""
    config, props, chief = s.prepared.config, s.prepared.dataset.properties, s.prepared.chief
    teacher_dir, inputs = s.prepared.plan.teacher_dir, s.prepared.inputs
    keras.utils.set_random_seed(config.seed)
    s.members = tuple(teacher_store.load_members(teacher_dir, s.prepared.manifest, s.prepared.indices,
                                                 config.teacher_precision))
    if chief:
        if runtime.overwrite:
            storage.rmtree(s.run_dir.root)
        s.run_dir.create()
        storage.write_text(s.run_dir.flags, s.flags_text)
        if config.gan_samples and not storage.exists(s.run_dir.gan_samples):
            data = inputs.data
            storage.save_npz(s.run_dir.gan_samples, images=data.images[len(data) - config.gan_samples:])
    with precision.policy(config.precision), synchronized_batch_norm(sync_bn):
        s.student = build_model(config.student_arch, props.num_classes, props.image_shape, **props.model_kwargs())
    init_weights = s.prepared.manifest.members[s.prepared.indices[0]].init_weights
    s.resuming = not runtime.overwrite and has_checkpoint(s.run_dir.checkpoints)
    if s.resuming:
        s.init = f"{config.init}, restored from the run's checkpoint"
    else:
        s.init = initialisation.initialise(
            s.student, config.init, s.members[0], os.path.join(teacher_dir, init_weights) if init_weights else None,
            config.init_lambda, s.prepared.dataset.train, props, strategy)
        if chief:
            s.student.save_weights(s.run_dir.student_init)
    optimizer, s.schedule = make_optimizer(inputs.recipe, inputs.steps, config.optimizer)
    s.optimizer = precision.with_loss_scaling(optimizer, config.precision)


def run(configs, runtime, output_dirs=None, flags_texts=None):
    """Trains the unfinished runs of `configs` (DistillConfigs that may share
    a teacher pass) as one group and writes each one's results; returns each
    run's results, in order ("finished_before": True for a run found
    finished). Resumes where every unfinished student's checkpoint is at the
    same step; otherwise, and where only one run is left, runs them one by
    one (distill.run), so that no work is lost."""
    start = time.time()
    output_dirs = list(output_dirs or [None] * len(configs))
    flags_texts = list(flags_texts or [""] * len(configs))
    runtimes = [dataclasses.replace(runtime, output_dir=d) if d else runtime for d in output_dirs]
    results = [None] * len(configs)
    for k, (config, rt) in enumerate(zip(configs, runtimes)):
        if not runtime.overwrite:
            finished = distill.completed_results(distill.plan(config, rt).output_dir)
            if finished is not None:
                results[k] = {**finished, "finished_before": True}
    todo = [k for k in range(len(configs)) if results[k] is None]
    if len(todo) < 2:
        for k in todo:
            results[k] = distill.run(configs[k], runtimes[k], flags_texts[k])
        return results
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    prepared = _prepare([configs[k] for k in todo], runtime, [runtimes[k] for k in todo], strategy)
    students = [_Student(p, runtimes[k], RunDir(p.plan.output_dir), flags_texts[k]) for p, k in zip(prepared, todo)]
    steps = [0 if runtime.overwrite else latest_step(s.run_dir.checkpoints) for s in students]
    if len(set(steps)) > 1:
        logging.warning("The group's students were checkpointed at different steps (%s): running them one by one.",
                        steps)
        for k in todo:
            results[k] = distill.run(configs[k], runtimes[k], flags_texts[k])
        return results
    for s, trained in zip(students, _train(students, runtime, strategy)):
        k = todo[students.index(s)]
        results[k] = distill.write_results(s.prepared, trained, s.runtime, start)
    return results


def _train(students, runtime, strategy):
    """One fit of the DistillerGroup, each student with its own single run's callbacks."""
    first = students[0].prepared
    inputs, props, chief = first.inputs, first.dataset.properties, first.chief
    data, spec, recipe, steps = inputs.data, inputs.spec, inputs.recipe, inputs.steps
    sync_bn = accelerator.sync_batchnorm(runtime.sync_batchnorm, strategy)
    jit_compile = accelerator.jit_compile(runtime.jit_compile, strategy)
    executions = accelerator.steps_per_execution(runtime.steps_per_execution, strategy, steps)
    with strategy.scope():
        for s in students:
            _build_student(s, runtime, strategy, sync_bn)
        pool_index = {}  # pool member -> its position in the group's pool
        pool = []
        for s in students:
            for i, member in zip(s.prepared.indices, s.members):
                if i not in pool_index:
                    pool_index[i] = len(pool)
                    pool.append(member)
        settings = [StudentSettings(tuple(pool_index[i] for i in s.prepared.indices), s.prepared.config.temperature,
                                    s.prepared.config.alpha, s.prepared.config.loss) for s in students]
        group = DistillerGroup([s.student for s in students], pool, settings, epochs=recipe.epochs,
                               seed=first.config.seed)
        group.compile([s.optimizer for s in students], jit_compile=jit_compile, steps_per_execution=executions)
        fit_on_distributed_data(group)
        for s in students:
            s.optimizer.build(s.student.trainable_variables)
    checkpoints = [for_distiller(s.run_dir.checkpoints, d, chief) for s, d in zip(students, group.distillers)]
    restored = {checkpoint.restore() if s.resuming else 0 for s, checkpoint in zip(students, checkpoints)}
    if len(restored) > 1:  # a damaged newest checkpoint fell back to an older one
        raise UserError(f"The group's checkpoints restored to different steps {sorted(restored)}: run its students "
                        "one by one (experiments/distill), which resumes each from its own.")
    start_step = restored.pop()
    start_epoch, step_in_epoch = divmod(start_step, steps)
    if start_step:
        logging.info("Resuming a group of %d students at epoch %d, step %d of %d", len(students), start_epoch + 1,
                     step_in_epoch, steps)
    elif chief:
        for s in students:
            summaries.write_text(s.run_dir.tensorboard, "flags", "```\n" + s.flags_text + "\n```")
            summaries.write_hparams(s.run_dir.tensorboard, distill.hparams(s.prepared.config, recipe))
            distill.log_batch_grid(s.run_dir.tensorboard, data, props, spec)
    logging.info("Distilling a group of %d students from %d pool members per batch (as single runs: %d): %s",
                 len(students), len(pool), sum(len(s.prepared.indices) for s in students),
                 "; ".join(f"members {list(s.prepared.indices)} tau {s.prepared.config.temperature:g} alpha "
                           f"{s.prepared.config.alpha:g} {s.prepared.config.loss}" for s in students))
    config = first.config
    feed_dtype = precision.compute_dtype(config.precision) if config.precision == config.teacher_precision else None
    test_data = evaluation_dataset(first.dataset.test, 500, props)
    guards = [NonFiniteLossGuard() for _ in students]

    def fit(first_epoch, last_epoch, steps_per_epoch, skip_steps=0):
        wanted = accelerator.largest_divisor_up_to(steps_per_epoch, executions)
        if group.steps_per_execution != wanted:
            group.steps_per_execution, group.train_function = wanted, None
        views = [StudentView(k, [
            EpochVariable(d.epoch), guard,
            TensorBoardScalars(s.run_dir.tensorboard, s.schedule.epoch_value, enabled=chief),
            MetricsCsv(s.run_dir.metrics_csv, first_epoch, enabled=chief),
            EpochProgress(f"student {k}", recipe.epochs, distill.SUMMARY_KEYS),
            checkpoint_callback(checkpoint, guard, runtime.checkpoint_every_steps),
        ]) for k, (s, d, guard, checkpoint) in enumerate(zip(students, group.distillers, guards, checkpoints))]
        temperatures = [s.prepared.config.temperature for s in students]
        group.fit(distributed_stream(strategy, data, props, spec, first_epoch, skip_steps, feed_dtype, None,
                                     temperatures),
                  epochs=last_epoch, initial_epoch=first_epoch, steps_per_epoch=steps_per_epoch,
                  validation_data=test_data, verbose=0, callbacks=[*views, preemption])
        for guard, checkpoint in zip(guards, checkpoints):
            guard.raise_if_failed(checkpoint.latest)

    def save_now():
        for checkpoint, s in zip(checkpoints, students):
            checkpoint.save(int(s.optimizer.iterations.numpy()))

    preemption = SaveOnPreemption(strategy, save_now, "the group of distillations")
    distill.fit_to_the_end(fit, start_epoch, step_in_epoch, steps, recipe.epochs, preemption)
    exec_settings = {"jit_compile_used": jit_compile, "steps_per_execution_used": executions,
                     "sync_batchnorm_used": sync_bn, "grouped_with": len(students)}
    return [distill.Trained(d.teacher, s.student, s.init, exec_settings) for s, d in zip(students, group.distillers)]


def execute(config, runtime):
    """A study's distill_group job (kd_tf.jobs.kinds): its students in their
    own run directories, each one's flags file and summary as distill.execute writes them."""
    texts = ["\n".join(f"--{k}={v}" for k, v in dataclasses.asdict(c).items() if v is not None)
             for c in config.configs]
    student_runtime = dataclasses.replace(runtime, output_dir=None)
    for directory, results in zip(config.directories, run(list(config.configs), student_runtime,
                                                         list(config.directories), texts)):
        print(f"=== {directory}")
        print(distill.format_summary(results))

