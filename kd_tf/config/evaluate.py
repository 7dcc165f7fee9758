"""The configuration of an evaluation of saved students (experiments/evaluate)."""

import dataclasses

from kd_tf.config import choices
from kd_tf.config.options import option


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    teacher_dir: str | None = option(None, "Teacher ensemble directory.", required=True)
    students: tuple[str, ...] | None = option(None, "Students: .keras files or SavedModel directories, "
                                              "comma-separated.", required=True)
    num_teachers: int | None = option(None, "Members to use (default: all).", lower=1)
    teacher_offset: int = option(0, "First member to use (wrapping).", lower=0)
    reference_student: str | None = option(
        None, "An independent student (other seed and teachers): its agreement with the teacher is the "
        "baseline, and each student's agreement with it is reported.")
    aug: str = option("baseline", "Policy of the augmented pass over train.", choices=choices.POLICIES)
    generator: str | None = option(None, "gan: generator for the augmented pass.")
    generator_bn: str = option("batch", "gan: the generator's BatchNorm while sampling, as in distill.",
                               choices=choices.GENERATOR_BN)
    seed: int = option(0, "Seed of the augmented pass.")
    batch_size: int | None = option(None, "Batch of the augmented pass (batch-level policies such as mixup "
                                    "depend on it).", lower=1, per_dataset="student.batch_size")
    output: str = option("runs/evaluation", "Writes OUTPUT.json and OUTPUT.csv.")
