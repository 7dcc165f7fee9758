"""Distils a teacher ensemble into a student and reports fidelity.

  bazel run //experiments:distill -- --aug=mixup

With no other flags: the embedded mnist5k dataset, 3 LeNet-5 teachers (trained
on first use and cached under runs/teachers/), tau=4, alpha=0.
"""

import dataclasses
import sys

from absl import app, flags

from kd_tf import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_enum("dataset", "mnist5k", choices.DATASETS, "Dataset (mnist5k is embedded; the others are TFDS).")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: ~/tensorflow_datasets).")
flags.DEFINE_enum("aug", "mixup", choices.POLICIES, "Distillation data policy.")
flags.DEFINE_integer("num_teachers", 3, "Ensemble size m.", lower_bound=1)
flags.DEFINE_float("temperature", 4.0, "Distillation temperature tau.", lower_bound=1e-6)
flags.DEFINE_float("alpha", 0.0, "Weight of the true-label cross-entropy.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("epochs", None, "Student epochs (default: 300; 20 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Global student batch (default 128).", lower_bound=1)
flags.DEFINE_float("lr", None, "Initial student learning rate, cosine to 1e-6 (default 0.05).", lower_bound=0.0)
flags.DEFINE_integer("seed", 0, "Seed of the student's initialisation and of the data stream.")
flags.DEFINE_string("output_dir", None, "Run directory (default: runs/<name derived from the flags>).")
flags.DEFINE_string("teacher_dir", None,
                    "Teacher ensemble directory; missing members are trained there "
                    "(default: runs/teachers/<dataset>-<teacher_arch>).")
flags.DEFINE_enum("teacher_arch", None, choices.CLASSIFIERS,
                  "Teacher architecture (default: the ensemble's, else lenet5 on MNIST, preresnet56 on CIFAR/SVHN).")
flags.DEFINE_enum("student_arch", None, choices.CLASSIFIERS,
                  "Student architecture (default: lenet5 on MNIST, preresnet56 on CIFAR/SVHN).")
flags.DEFINE_enum("strategy", "auto", choices.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", "", "TPU for --strategy=tpu: local, a TPU name, or grpc://host:port.")
flags.DEFINE_bool("overwrite", False, "Replace a finished run in --output_dir.")
# Policy options (REFERENCE.md section 4).
flags.DEFINE_float("rotation_degrees", 20.0, "rotation/combined: maximum angle.", lower_bound=0.0)
flags.DEFINE_float("noise_prob", 0.2, "noise: probability that an image is replaced by U[0,1] noise.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_string("generator", None, "gan: generator (.keras or SavedModel) mapping z to images in [-1, 1].")
flags.DEFINE_float("synth_ratio", 0.25, "gan: synthetic rows per real row (1:4 gives 25 of 128).", lower_bound=0.0)
flags.DEFINE_float("synth_temperature", None, "gan: temperature of synthetic rows (default: --temperature, "
                   "as in the paper; the reference's later code used 1).", lower_bound=1e-6)
flags.DEFINE_enum("ood_dataset", None, choices.OOD_DATASETS,
                  "ood: source of unlabelled images (default: svhn_cropped; sample_photos on mnist5k).")
flags.DEFINE_integer("ood_count", None, "ood: images added (default: 10,000; 1,000 on mnist5k).", lower_bound=1)
flags.DEFINE_string("distill_splits", None, "Data recycling: distil on d0, d1 or d0,d1 (teachers learn from d0).")
flags.DEFINE_string("split_temperatures", None, "Data recycling: a temperature per split, e.g. 1,4.")
flags.DEFINE_float("data_fraction", None, "Distil on this class-balanced fraction of the real rows.",
                   lower_bound=0.0, upper_bound=1.0)
# Engine options.
flags.DEFINE_enum("loss", "fwd_ce", choices.LOSSES, "Teacher-student loss (fwd_ce is the paper's L_KD).")
flags.DEFINE_enum("hard_label", "argmax", ["argmax", "sample"], "hard, cvx: argmax of the teacher, or a draw.")
flags.DEFINE_float("label_corruption", 0.0, "hard, cvx: probability of replacing a hard label by a random class.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_enum("optimizer", "sgd", choices.OPTIMIZERS, "sgd (the recipe: Nesterov) or adam (PyTorch's Adam).")
flags.DEFINE_float("weight_decay", None, "Coupled weight decay (default: the recipe's 1e-4).", lower_bound=0.0)
flags.DEFINE_integer("teacher_offset", 0, "Use members offset .. offset+m-1 of --teacher_dir, so that trials "
                     "take disjoint teacher sets.", lower_bound=0)
flags.DEFINE_enum("init", "random", choices.INIT_MODES,
                  "Student initialisation: random, interpolate (--init_lambda), or the teacher's initial weights.")
flags.DEFINE_integer("checkpoint_every_steps", 0, "Also checkpoint every N steps within epochs (long epochs); "
                     "0: after every epoch only.", lower_bound=0)
flags.DEFINE_float("init_lambda", None, "interpolate: lambda * teacher + (1 - lambda) * random.",
                   lower_bound=0.0, upper_bound=1.0)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from kd_tf.train import distill_job  # TensorFlow loads only once the flags are valid.
    from kd_tf.train.run_dir import resolve_path

    config = distill_job.resolve(distill_job.DistillConfig(
        **{f.name: FLAGS[f.name].value for f in dataclasses.fields(distill_job.DistillConfig)}))
    output_dir = resolve_path(config.output_dir or f"runs/{config.run_name()}")
    teacher_dir = resolve_path(config.teacher_dir)
    results = None if config.overwrite else distill_job.completed_results(output_dir)
    if results is not None:
        print(distill_job.format_summary(results))
        print(f"{output_dir} holds this finished run (above); pass --overwrite to run it again.")
        return
    try:
        results = distill_job.run(config, output_dir, teacher_dir, FLAGS.flags_into_string())
    except UserError as e:
        sys.exit(f"error: {e}")
    print(distill_job.format_summary(results))
    print(f"outputs: {output_dir}")


if __name__ == "__main__":
    app.run(main)
