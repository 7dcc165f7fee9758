"""Trains a teacher ensemble: m independently seeded members and a manifest.

  bazel run //experiments:train_teachers -- --num_teachers=5 --teacher_dir=runs/teachers/mine

Members already in --teacher_dir are kept; only the missing ones are trained.
"""

from kd_tf import cli
from kd_tf.config.runtime import Runtime
from kd_tf.config.teachers import TeacherConfig

cli.define_binary_flags("train_teachers")


def main():
    from kd_tf.jobs import teachers

    teacher_dir, manifest = teachers.run(cli.read_flags(TeacherConfig), cli.read_flags(Runtime))
    for i, member in enumerate(manifest.members):
        t = member.test
        if t is None:  # an imported member
            print(f"member {i}: imported from {member.source}")
            continue
        print(f"member {i} (seed {member.seed}): test accuracy {t['accuracy']:.2f}%  "
              f"NLL {t['nll']:.4f}  ECE {t['ece']:.2f}%")
    print(f"ensemble: {teacher_dir}")


if __name__ == "__main__":
    cli.run(main)
