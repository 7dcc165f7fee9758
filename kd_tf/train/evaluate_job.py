"""Evaluation of saved students against a teacher ensemble (experiments/evaluate)."""

import os

from kd_tf.data import sources
from kd_tf.data.pipeline import StreamSpec
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.train import evaluation, teachers
from kd_tf.train.recipes import student_recipe


def run(teacher_dir, student_paths, reference_path, policy, num_teachers, teacher_offset, data_dir, generator,
        seed, output, batch_size=None):
    manifest = teachers.read_manifest(teacher_dir)
    if manifest is None:
        raise teachers.EnsembleMismatchError(f"{teacher_dir} holds no teacher ensemble (no manifest.json).")
    dataset = sources.load(manifest["dataset"], data_dir)
    indices = teachers.member_indices(manifest, num_teachers or len(manifest["members"]), teacher_offset)
    teacher = TeacherEnsemble(teachers.load_members(teacher_dir, manifest, indices))
    students = {os.path.join(os.path.basename(os.path.dirname(p)), os.path.basename(p)):
                evaluation.load_classifier(p) for p in student_paths}
    reference = evaluation.load_classifier(reference_path) if reference_path else None
    gan = None
    if policy == "gan":
        from kd_tf.data import generators

        gan = generators.load(generator) if generator else None
        if gan is None:
            raise teachers.EnsembleMismatchError("--aug=gan needs --generator.")
    spec = StreamSpec(policy, batch_size or student_recipe(dataset.name).batch_size, seed, 1, generator=gan)
    rows, _ = evaluation.evaluate(teacher, students, dataset, spec, reference)
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
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
