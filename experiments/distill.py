"""Distils a teacher ensemble into a student and reports fidelity.

  bazel run //experiments:distill -- --aug=mixup

With no other flags: the embedded mnist5k dataset, 3 LeNet-5 teachers (trained
on first use and cached under runs/teachers/), tau=4, alpha=0.
"""

from kd_tf import cli
from kd_tf.config.distill import DistillConfig
from kd_tf.config.runtime import Runtime

cli.define_binary_flags("distill")


def main():
    from kd_tf.jobs import distill  # TensorFlow loads only once the flags are valid.

    results = distill.run(cli.read_flags(DistillConfig), cli.read_flags(Runtime), cli.FLAGS.flags_into_string())
    output_dir = results["runtime"]["output_dir"]
    if results.get("non_chief"):
        print(f"done (a non-chief worker: the chief writes {output_dir})")
        return
    print(distill.format_summary(results))
    if results.get("finished_before"):
        print(f"{output_dir} holds this finished run (above); pass --overwrite to run it again.")
    else:
        cli.print_outputs(output_dir, tensorboard=True)


if __name__ == "__main__":
    cli.run(main)
