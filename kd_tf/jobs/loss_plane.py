"""Section 6, Fig 6c: the plane through three points in weight space of a
finished run started by interpolation (--init=interpolate) or from the
teacher's initial weights: the teacher, the initial student and the final
student. On a grid of that plane, the distillation loss on train and the
test agreement with the teacher (npz and PNG)."""

import os

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kd_tf.config.paths import resolve_path  # noqa: E402
from kd_tf.data import sources  # noqa: E402
from kd_tf.data.pipeline import evaluation_dataset  # noqa: E402
from kd_tf.distill import losses  # noqa: E402
from kd_tf.distill.ensemble import TeacherEnsemble  # noqa: E402
from kd_tf.errors import UserError  # noqa: E402
from kd_tf.train import storage, teacher_store  # noqa: E402
from kd_tf.train.run_dir import RunDir  # noqa: E402


def _flat(weights):
    return np.concatenate([np.asarray(w, np.float64).ravel() for w in weights])


def _assign(model, flat, shapes):
    offset = 0
    for variable, shape in zip(model.weights, shapes):
        size = int(np.prod(shape))
        variable.assign(flat[offset:offset + size].reshape(shape).astype(np.float32))
        offset += size


def plane(teacher, initial, final):
    """An orthonormal basis (u, v) of the plane through the three points, with
    `initial` as origin, and each point's coordinates in it."""
    u = teacher - initial
    u_norm = np.linalg.norm(u)
    if u_norm == 0:
        raise UserError("The initial student is the teacher itself (lambda = 1): the three points span no plane.")
    u = u / u_norm
    v = final - initial
    v = v - (v @ u) * u
    v_norm = np.linalg.norm(v)
    if v_norm < 1e-12 * u_norm:
        raise UserError("The final student lies on the line from the initial student to the teacher: no plane.")
    v = v / v_norm
    coordinates = {name: ((p - initial) @ u, (p - initial) @ v)
                   for name, p in (("teacher", teacher), ("initial", initial), ("final", final))}
    return u, v, coordinates


def run(run_dir, output, grid=9, margin=0.25, examples=1000, data_dir=None):
    """Writes OUTPUT.npz and OUTPUT.png for the finished run in run_dir."""
    run_dir = resolve_path(run_dir)
    paths = RunDir(run_dir)
    if not paths.is_complete() or not storage.exists(paths.student_init):
        raise UserError(f"{run_dir} is not a finished run with its initial weights (student_init.weights.h5): "
                        "run it to the end first.")
    results = storage.read_json(paths.results_json)
    config = results["config"]
    if len(results["teacher_members"]) != 1:
        raise UserError(f"{run_dir} distils {len(results['teacher_members'])} teachers; the plane goes through one "
                        "teacher's weights (self-distillation, --num_teachers=1).")
    dataset = sources.load(config["dataset"], data_dir)
    teacher_dir = results["teacher_dir"]
    manifest = teacher_store.read_manifest(teacher_dir)
    (teacher_model,) = teacher_store.load_members(teacher_dir, manifest, [results["teacher_members"][0]["index"]])
    student = keras.saving.load_model(paths.student_keras, compile=False)
    if [tuple(w.shape) for w in student.weights] != [tuple(w.shape) for w in teacher_model.weights]:
        raise UserError(f"{run_dir}: the student's architecture is not the teacher's; no common weight space.")
    shapes = [tuple(w.shape) for w in student.weights]
    final = _flat(student.weights)
    student.load_weights(paths.student_init)
    initial = _flat(student.weights)
    teacher = _flat(teacher_model.weights)
    u, v, coordinates = plane(teacher, initial, final)
    xs = [c[0] for c in coordinates.values()]
    ys = [c[1] for c in coordinates.values()]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys) or max(xs) - min(xs)
    a_values = np.linspace(min(xs) - margin * span_x, max(xs) + margin * span_x, grid)
    b_values = np.linspace(min(ys) - margin * span_y, max(ys) + margin * span_y, grid)
    ensemble = TeacherEnsemble([teacher_model])
    train = dataset.train.subset(np.arange(min(examples, len(dataset.train))))
    test = dataset.test.subset(np.arange(min(examples, len(dataset.test))))
    batches = {name: [b for b in evaluation_dataset(split, 500, dataset.properties)]
               for name, split in (("train", train), ("test", test))}
    teacher_logits = {name: [np.asarray(ensemble(b["image"])) for b in bs] for name, bs in batches.items()}
    loss = np.zeros((grid, grid))
    agreement = np.zeros((grid, grid))
    for i, a in enumerate(a_values):
        for j, b in enumerate(b_values):
            _assign(student, initial + a * u + b * v, shapes)
            rows = [losses.kd_cross_entropy(t, student(x["image"], training=False), config["temperature"])
                    for x, t in zip(batches["train"], teacher_logits["train"])]
            loss[j, i] = float(np.mean(np.concatenate([np.asarray(r) for r in rows])))
            agree = [np.argmax(t, -1) == np.argmax(np.asarray(student(x["image"], training=False)), -1)
                     for x, t in zip(batches["test"], teacher_logits["test"])]
            agreement[j, i] = 100.0 * np.mean(np.concatenate(agree))
    output = resolve_path(output)
    storage.makedirs(os.path.dirname(output) or ".")
    storage.save_npz(output + ".npz", a=a_values, b=b_values, train_loss=loss, test_agreement=agreement,
                        **{f"{k}_coordinates": np.array(c) for k, c in coordinates.items()})
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, values, title in ((axes[0], np.log10(loss), f"log10 distillation loss on train "
                                                         f"(tau {config['temperature']:g})"),
                              (axes[1], agreement, "test agreement with the teacher (%)")):
        contour = ax.contourf(a_values, b_values, values, levels=15, cmap="viridis")
        fig.colorbar(contour, ax=ax)
        for name, (x, y) in coordinates.items():
            ax.scatter([x], [y], color="white", edgecolor="black", zorder=5)
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5), color="white")
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"Loss plane of {os.path.basename(run_dir)} (Fig 6c)", fontsize=9)
    fig.tight_layout()
    storage.save_figure(fig, output + ".png", dpi=110)
    plt.close(fig)
    return output + ".npz", output + ".png"
