"""The configuration of a study (experiments/study): which experiment at
which scale, and how its runs are executed."""

import dataclasses

from kd_tf.config import choices
from kd_tf.config.options import option


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    study: str | None = option(None, "The experiment of the paper to run (see the README's Studies table); "
                               "findings: every study that tests claims of the paper, and findings.md.",
                               choices=choices.STUDIES, required=True)
    scale: str = option("smoke", "paper: the paper's exact setting (downloaded data, accelerators); smoke: the same "
                        "runs, axes and figures, thinner, offline on the embedded data in minutes (a pipeline "
                        "check); cpu: the smoke scale's data and models trained to their plateau with 5 trials, "
                        "whose claims' verdicts mean something (table1, IMDB and ImageNet, is refused).",
                        choices=choices.SCALES)


@dataclasses.dataclass(frozen=True)
class StudyExecution:
    runs_dir: str = option("runs", "Where runs live (shared by studies: a run that two studies need runs once).")
    parallel: int = option(1, "Runs at a time (local: one worker process each, with its share of the CPUs or "
                           "of --gpus).", lower=1)
    executor: str = option("local", "local: worker processes on this machine; ray: tasks on a Ray cluster.",
                           choices=choices.EXECUTORS)
    gpus: str = option("", "local: GPU ids to share among the workers, e.g. 0,1,2,3 (default: none, CPU "
                       "workers).")
    ray_address: str | None = option(None, "ray: the cluster's address, e.g. ray://head:10001 or auto "
                                     "(default: a Ray instance started on this machine).")
    cpus_per_run: int = option(1, "ray: CPUs each run asks for.", lower=1)
    gpus_per_run: float = option(0.0, "ray: GPUs each run asks for.", lower=0.0)
    dry_run: bool = option(False, "Print the plan (every run, which are finished, an estimate) and stop.")
    group_students: int = option(6, "At most this many students that may share one teacher pass train as one "
                                 "job, each member's forward once per batch, each student in its own run "
                                 "directory with its single run's results (a group's memory grows with it; "
                                 "1: every student alone).", lower=1)
