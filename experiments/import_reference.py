"""Imports a reference (PyTorch) checkpoint as a kd_tf model.

  bazel run //experiments:import_reference -- --arch=preresnet56 --num_classes=100 \\
      --state_dict=ckpt.pt --output=member_0.keras

--state_dict: a torch.save'd or pickled state dict (torch.save files need
torch installed), or an .npz with the same keys. With --teacher_dir and
--dataset, the model is added as the next member of that teacher ensemble.
Nothing is written if any key is unknown, missing or misshapen.
"""

from absl import flags

from kd_tf import cli
from kd_tf.config import choices
from kd_tf.errors import UserError

FLAGS = flags.FLAGS

flags.DEFINE_string("arch", None, "Architecture: lenet5, preresnet<depth>[_noskip], vgg16[_bn], vgg19[_bn].")
flags.DEFINE_integer("num_classes", None, "Number of classes of the checkpoint.", lower_bound=1)
flags.DEFINE_string("state_dict", None, "Reference checkpoint: .pt/.pth/.pkl state dict or .npz.")
flags.DEFINE_string("output", None, "Where to write the .keras model (optional with --teacher_dir).")
flags.DEFINE_string("teacher_dir", None, "Add the model as the next member of this teacher ensemble.")
flags.DEFINE_enum("dataset", None, choices.DATASETS, "The dataset the checkpoint was trained on (with --teacher_dir).")
flags.DEFINE_integer("input_size", None, "Input height and width, if not the architecture's default.")
flags.mark_flags_as_required(["arch", "num_classes", "state_dict"])


def main():
    if not (FLAGS.output or FLAGS.teacher_dir):
        raise UserError("Give --output, --teacher_dir (with --dataset), or both.")
    if FLAGS.teacher_dir and not FLAGS.dataset:
        raise UserError("--teacher_dir needs --dataset, which the ensemble's manifest records.")
    from kd_tf.train import reference_io
    from kd_tf.config.paths import resolve_path

    model = reference_io.import_checkpoint(FLAGS.arch, FLAGS.num_classes, resolve_path(FLAGS.state_dict),
                                           input_size=FLAGS.input_size)
    if FLAGS.output:
        reference_io.save_atomically(model, resolve_path(FLAGS.output))
        print(f"wrote {resolve_path(FLAGS.output)}")
    if FLAGS.teacher_dir:
        path = reference_io.add_imported_member(resolve_path(FLAGS.teacher_dir), model, FLAGS.arch,
                                                FLAGS.dataset, resolve_path(FLAGS.state_dict))
        print(f"added {path}")


if __name__ == "__main__":
    cli.run(main)
