"""Appendix Fig 8: teachers' predictive distributions on example images, on
train at tau 1 and 4 and on test at tau 1, by teacher depth (one teacher
directory each) and ensemble size m. Dumps the probabilities (npz) and plots
them (PNG)."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kd_tf.config.paths import resolve_path  # noqa: E402
from kd_tf.data import sources  # noqa: E402
from kd_tf.data.pipeline import evaluation_dataset  # noqa: E402
from kd_tf.errors import UserError  # noqa: E402
from kd_tf.train import storage, teacher_store  # noqa: E402

TOP_CLASSES = 10


def _softmax(logits, tau):
    z = logits / tau
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


def distributions(teacher_dirs, sizes, examples=3, seed=0, data_dir=None):
    """{(teacher_dir, m, split): probabilities [examples, classes] at tau 1 (and
    "train_tau4" at tau 4)}: the ensemble of members 0..m-1 on `examples`
    train and test images picked with `seed`."""
    out, dataset_name = {}, None
    for teacher_dir in teacher_dirs:
        manifest = teacher_store.read_manifest(teacher_dir)
        if manifest is None:
            raise UserError(f"--teacher_dirs: {teacher_dir} holds no teacher ensemble (no manifest.json).")
        if dataset_name not in (None, manifest.dataset):
            raise UserError("--teacher_dirs: the ensembles were trained on different datasets "
                            f"({dataset_name}, {manifest.dataset}).")
        dataset_name = manifest.dataset
        if max(sizes) > len(manifest.members):
            raise UserError(f"{teacher_dir} holds {len(manifest.members)} members; --sizes asks for {max(sizes)}.")
    dataset = sources.load(dataset_name, data_dir)
    rng = np.random.default_rng(seed)
    picked = {name: split.subset(np.sort(rng.choice(len(split), examples, replace=False)))
              for name, split in (("train", dataset.train), ("test", dataset.test))}
    for teacher_dir in teacher_dirs:
        manifest = teacher_store.read_manifest(teacher_dir)
        members = teacher_store.load_members(teacher_dir, manifest, list(range(max(sizes))))
        for name, split in picked.items():
            batch = next(iter(evaluation_dataset(split, examples, dataset.properties)))
            logits = np.stack([np.asarray(m(batch["image"], training=False)) for m in members])
            for m in sizes:
                # The ensemble's logits: the log of the mean member probability.
                mean = np.mean([_softmax(z, 1.0) for z in logits[:m]], axis=0)
                log_mean = np.log(np.maximum(mean, 1e-30))
                out[(teacher_dir, m, name)] = _softmax(log_mean, 1.0)
                if name == "train":
                    out[(teacher_dir, m, "train_tau4")] = _softmax(log_mean, 4.0)
    return out, picked


def plot(probabilities, teacher_dirs, sizes, path, example=0):
    """A grid: a row per teacher directory, a column per m; each panel the
    example's top classes on train (tau 1 blue, tau 4 green) and test (tau 1)."""
    fig, axes = plt.subplots(len(teacher_dirs), 2 * len(sizes), squeeze=False,
                             figsize=(2.6 * 2 * len(sizes), 2.2 * len(teacher_dirs)))
    for r, teacher_dir in enumerate(teacher_dirs):
        for c, m in enumerate(sizes):
            train, train4 = probabilities[(teacher_dir, m, "train")][example], probabilities[
                (teacher_dir, m, "train_tau4")][example]
            order = np.argsort(-train)[:TOP_CLASSES]
            ax = axes[r][c]
            ax.bar(np.arange(len(order)) - 0.2, train[order], 0.4, color="tab:blue", label="tau 1")
            ax.bar(np.arange(len(order)) + 0.2, train4[order], 0.4, color="tab:green", label="tau 4")
            ax.set_title(f"train, {os.path.basename(teacher_dir)}, m={m}", fontsize=7)
            ax.set_ylim(0, 1)
            ax.set_xticks(range(len(order)))
            ax.set_xlabel("class rank", fontsize=7)
            test = probabilities[(teacher_dir, m, "test")][example]
            order = np.argsort(-test)[:TOP_CLASSES]
            ax = axes[r][len(sizes) + c]
            ax.bar(np.arange(len(order)), test[order], 0.6, color="tab:blue")
            ax.set_title(f"test, {os.path.basename(teacher_dir)}, m={m}", fontsize=7)
            ax.set_ylim(0, 1)
            ax.set_xticks(range(len(order)))
            ax.set_xlabel("class rank", fontsize=7)
    axes[0][0].legend(fontsize=6)
    fig.suptitle("Teacher predictive distributions, top classes (appendix Fig 8)", fontsize=9)
    fig.tight_layout()
    storage.save_figure(fig, path, dpi=110)
    plt.close(fig)


def run(teacher_dirs, sizes, output, examples=3, seed=0, data_dir=None):
    """Writes OUTPUT.npz (every probability) and OUTPUT.png; returns their paths."""
    teacher_dirs = [resolve_path(d) for d in teacher_dirs]
    output = resolve_path(output)
    probabilities, picked = distributions(teacher_dirs, sizes, examples, seed, data_dir)
    storage.makedirs(os.path.dirname(output) or ".")
    arrays = {f"{os.path.basename(d)}_m{m}_{split}": p for (d, m, split), p in probabilities.items()}
    storage.save_npz(output + ".npz", train_labels=picked["train"].labels, test_labels=picked["test"].labels,
                        **arrays)
    plot(probabilities, teacher_dirs, sizes, output + ".png")
    return output + ".npz", output + ".png"
