"""How and where a job runs, as opposed to what it computes: none of these
change a result, and results.json records them apart from the config."""

import dataclasses

from kd_tf.config import choices
from kd_tf.config.options import option
from kd_tf.errors import UserError


@dataclasses.dataclass(frozen=True)
class Runtime:
    data_dir: str | None = option(None, "TFDS data directory (default: ~/tensorflow_datasets).")
    output_dir: str | None = option(None, "Run directory (default: runs/<a name derived from the config>).")
    overwrite: bool = option(False, "Delete what --output_dir holds (finished or interrupted) and start again.")
    strategy: str = option("auto", "tf.distribute strategy.", choices=choices.STRATEGIES)
    tpu: str = option("", "TPU for --strategy=tpu: local, a TPU name, or grpc://host:port.")
    checkpoint_every_steps: int = option(0, "Also checkpoint every N steps within epochs (long epochs); "
                                         "0: after every epoch only.", lower=0)
    jit_compile: str = option("auto", "XLA-compile the train step. auto: on for GPUs; TPUs compile every step "
                              "anyway; off on CPUs, where XLA measured slower (docs/distributed.md).", choices=choices.SWITCHES)
    steps_per_execution: str = option("auto", "Train steps per compiled execution (one host round trip each): "
                                      "a number, or auto: up to 32 on TPUs, else 1. Lowered to a divisor of the "
                                      "epoch's steps, so that executions never straddle epochs.")
    sync_batchnorm: str = option("auto", "BatchNorm statistics over the global batch rather than each replica's "
                                 "share (Keras's synchronized BatchNormalization). auto: on with more than one "
                                 "replica, so that training matches one device, as the reference ran.",
                                 choices=choices.SWITCHES)
    cache_teacher_logits: bool = option(True, "--aug=none: the teachers' logits on the distillation set, "
                                        "computed once before training and read by every epoch (its inputs "
                                        "repeat exactly), rather than the teachers run in every step; equal up "
                                        "to float rounding (not with --loss=avg_sym_kl, which needs each "
                                        "member's).")

    def __post_init__(self):
        value = self.steps_per_execution
        if value != "auto" and not (value.isdigit() and int(value) >= 1):
            raise UserError(f"--steps_per_execution={value!r}: give a positive number of steps, or auto.")
