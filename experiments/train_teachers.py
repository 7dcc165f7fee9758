"""Trains a teacher ensemble: m independently seeded members and a manifest.

  bazel run //experiments:train_teachers -- --num_teachers=5 --teacher_dir=runs/teachers/mine

Members already in --teacher_dir are kept; only the missing ones are trained.
"""

import sys

from absl import app, flags

from kd_tf import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_enum("dataset", "mnist5k", choices.DATASETS, "Dataset (mnist5k is embedded; the others are TFDS).")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: ~/tensorflow_datasets).")
flags.DEFINE_enum("arch", None, choices.CLASSIFIERS,
                  "Member architecture (default: lenet5 on MNIST, preresnet56 on CIFAR/SVHN).")
flags.DEFINE_integer("num_teachers", 3, "Number of members the directory should hold.", lower_bound=1)
flags.DEFINE_string("teacher_dir", None, "Ensemble directory (default: runs/teachers/<dataset>-<arch>).")
flags.DEFINE_integer("epochs", None, "Epochs per member (default: 200; 30 on mnist5k).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Global batch (default: 256; 64 on mnist5k).", lower_bound=1)
flags.DEFINE_float("lr", None, "Initial learning rate, cosine to 0 (default 0.1).", lower_bound=0.0)
flags.DEFINE_integer("train_size", None,
                     "Train each member on a class-balanced subset of this size (default: all; 1000 on mnist5k).",
                     lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of member 0 of a new ensemble; member i has seed + i "
                     "(an existing ensemble keeps its own).")
flags.DEFINE_enum("train_split", "all", choices.TEACHER_SPLITS,
                  "Learn from the whole train split, or a data-recycling half (d0 as in the study).")
flags.DEFINE_enum("strategy", "auto", choices.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", "", "TPU for --strategy=tpu: local, a TPU name, or grpc://host:port.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from kd_tf.data import sources
    from kd_tf.train import teachers
    from kd_tf.train.recipes import teacher_recipe
    from kd_tf.train.run_dir import resolve_path
    from kd_tf.train.strategy import make_strategy

    arch = FLAGS.arch or sources.PROPERTIES[FLAGS.dataset].default_arch
    teacher_dir = resolve_path(FLAGS.teacher_dir or f"runs/teachers/{FLAGS.dataset}-{arch}")
    recipe = teacher_recipe(FLAGS.dataset, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, lr=FLAGS.lr,
                            train_size=FLAGS.train_size)
    try:
        strategy = make_strategy(FLAGS.strategy, FLAGS.tpu)
        dataset = sources.load(FLAGS.dataset, FLAGS.data_dir)
        manifest = teachers.ensure_ensemble(teacher_dir, dataset, arch, FLAGS.num_teachers, recipe,
                                            strategy, seed_base=FLAGS.seed, train_split=FLAGS.train_split)
    except UserError as e:
        sys.exit(f"error: {e}")
    for i, member in enumerate(manifest["members"]):
        t = member["test"]
        print(f"member {i} (seed {member['seed']}): test accuracy {t['accuracy']:.2f}%  "
              f"NLL {t['nll']:.4f}  ECE {t['ece']:.2f}%")
    print(f"ensemble: {teacher_dir}")


if __name__ == "__main__":
    app.run(main)
