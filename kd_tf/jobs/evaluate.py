"""Evaluation of saved students against a teacher ensemble (experiments/evaluate)."""

import os

from kd_tf.config.datasets import lookup
from kd_tf.config.paths import resolve_path
from kd_tf.data import generators, sources
from kd_tf.data.stream_spec import StreamSpec
from kd_tf.errors import UserError
from kd_tf.train import evaluation, storage, teacher_store, workers
from kd_tf.train.strategy import make_strategy


def run(config, runtime):
    """Rows {"model", "split", metrics...} for the teacher ensemble, each
    student and the optional reference student; also written to
    config.output + .json and .csv."""
    teacher_dir = resolve_path(config.teacher_dir)
    manifest = teacher_store.read_manifest(teacher_dir)
    if manifest is None:
        raise teacher_store.EnsembleMismatchError(f"{teacher_dir} holds no teacher ensemble (no manifest.json).")
    dataset = sources.load(manifest.dataset, runtime.data_dir)
    strategy = make_strategy(runtime.strategy, runtime.tpu)
    paths = [resolve_path(p) for p in config.students]
    with strategy.scope():  # every replica evaluates its share of each batch
        teacher = teacher_store.load_ensemble(teacher_dir, config.num_teachers, config.teacher_offset)
        students = {os.path.join(os.path.basename(os.path.dirname(p)), os.path.basename(p)):
                    evaluation.load_classifier(p) for p in paths}
        reference = (evaluation.load_classifier(resolve_path(config.reference_student))
                     if config.reference_student else None)
    generator = None
    if config.aug == "gan":
        if not config.generator:
            raise UserError("--aug=gan needs --generator.")
        generator = generators.load(resolve_path(config.generator), config.generator_bn)
    batch_size = config.batch_size or lookup(dataset.name, "student.batch_size")
    spec = StreamSpec(config.aug, batch_size, config.seed, 1, generator=generator)
    rows, _ = evaluation.evaluate(teacher, students, dataset, spec, reference, strategy=strategy)
    if teacher.num_members == 1:  # self-distillation: each Keras student's per-stage CKA with the teacher (Table 1)
        for name, student in students.items():
            cka = evaluation.stage_cka(teacher.members[0], student, dataset.test, dataset.properties)
            if cka:
                next(r for r in rows if r["model"] == name and r["split"] == "test").update(cka)
    if workers.is_chief(strategy):  # under several workers, one writes
        output = resolve_path(config.output)
        storage.makedirs(os.path.dirname(output) or ".")
        evaluation.write_rows(rows, output + ".json", output + ".csv")
    return rows


def format_rows(rows):
    keys = ["accuracy", "nll", "ece", "agreement", "kl", "agreement_with_reference"]
    width = max(len(row["model"]) for row in rows) + 2
    widths = {k: max(len(k), 9) + 2 for k in keys}
    lines = [f"{'model':<{width}}{'split':<18}" + "".join(f"{k:>{widths[k]}}" for k in keys)]
    for row in rows:
        cells = "".join(f"{row[k]:>{widths[k]}.4g}" if k in row else " " * widths[k] for k in keys)
        lines.append(f"{row['model']:<{width}}{row['split']:<18}{cells}")
    return "\n".join(lines)


def execute(config, runtime):
    """A study's evaluate job (kd_tf.jobs.kinds): run, its rows printed to the run's log."""
    print(format_rows(run(config, runtime)))
