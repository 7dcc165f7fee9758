"""A study's runs in dependency order, which are finished, and what the
rest would cost: the --dry_run listing. Free of TensorFlow."""

from kd_tf.jobs.kinds import JOBS
from kd_tf.studies import sharing


def is_finished(run):
    """Whether a run's results are on disk (a finished run is never redone)."""
    return JOBS[run.kind].is_finished(run.config, run.directory)


def gpu_hours(run):
    """A rough estimate of what is left of a run, in GPU-hours at the paper's scale."""
    return JOBS[run.kind].gpu_hours(run.config, run.directory)


def describe(run):
    """One line of the plan."""
    labels = ", ".join(f"{k}={v}" for k, v in run.labels)
    what = JOBS[run.kind].describe(run.config, run.needs)
    return f"{run.kind:<9} {what}" + (f"  [{labels}]" if labels else "")


def plan_text(study, finished, group_students=1):
    """The --dry_run listing: every run, whether it is done, the estimate,
    and which of the students left could share a teacher pass."""
    count = len(study.runs)
    lines = [f"study {study.name} ({study.reproduces}), scale {study.scale}: {count} run{'' if count == 1 else 's'}, "
             f"{sum(finished.values())} finished"]
    hours = 0.0
    for run in study.runs:
        done = finished[run.directory]
        if not done:
            hours += gpu_hours(run)
        lines.append(f"  {'done' if done else 'todo'}  {describe(run)}\n        {run.directory}")
    if study.scale == "paper":
        lines.append(f"estimate: about {hours:,.0f} GPU-hours for what is left (the paper's 10 GPU-hours per "
                     "300-epoch CIFAR-100 run, scaled by image-epochs and network cost; a rough figure, not a "
                     "measurement)")
    lines += sharing.summary([r for r in study.runs if not finished[r.directory]], group_students,
                             sharing.pool_sizes(study.runs), hours=study.scale == "paper")
    return "\n".join(lines)
