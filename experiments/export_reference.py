"""Exports a kd_tf model's weights as a reference-layout state dict (.npz),
the inverse of import_reference.

  bazel run //experiments:export_reference -- --model=member_0.keras --output=member_0.npz
"""

from absl import flags

from kd_tf import cli

FLAGS = flags.FLAGS

flags.DEFINE_string("model", None, "A .keras model of a supported architecture.")
flags.DEFINE_string("output", None, "The .npz to write.")
flags.mark_flags_as_required(["model", "output"])


def main():
    from kd_tf.train import reference_io
    from kd_tf.config.paths import resolve_path

    keys = reference_io.export_npz(resolve_path(FLAGS.model), resolve_path(FLAGS.output))
    print(f"wrote {len(keys)} arrays to {resolve_path(FLAGS.output)}")


if __name__ == "__main__":
    cli.run(main)
