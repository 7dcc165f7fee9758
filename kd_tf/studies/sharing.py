"""Which of a study's students could share one teacher pass per batch
(issue 27's DistillerGroup), and what sharing would save: the plan's groups,
member forwards per batch and GPU-hours with and without sharing. Free of
TensorFlow. A group is students whose runs differ only in which members
they average (m and the trial's offset), the temperature, alpha and a soft
loss: the same stream, pool, architecture and recipe. DistillerGroup's step
matches each student's single step on the same batches (tests/group_test.py);
a whole grouped run against its single run is not checked yet, since no job
runs groups."""

import dataclasses

from kd_tf.config import choices
from kd_tf.jobs import kinds

# What may differ inside a group (DistillerGroup's StudentSettings, plus the
# trial's offset into the pool, which only changes the members).
PER_STUDENT_FIELDS = ("num_teachers", "teacher_offset", "temperature", "synth_temperature", "alpha", "loss")


@dataclasses.dataclass(frozen=True)
class Group:
    runs: tuple  # the distill Runs of one teacher pass
    members: tuple  # per run, the pool indices it averages

    @property
    def forwards(self):
        return member_forwards(self.members)


def member_forwards(member_sets):
    """Teacher member forwards per batch for students averaging `member_sets`
    (pool indices each): (as single runs, each running its m members; as one
    group, each member any student needs running once)."""
    return sum(len(m) for m in member_sets), len({i for m in member_sets for i in m})


def why_not_grouped(config):
    """Why a distill run must run alone, or None: the group drops the stream's
    per-row temperature (each student applies its own tau to every row), so
    rows at another temperature cannot be grouped; nor can losses that read
    more than the ensemble's logits, nor synthetic rows that a run's own step
    draws (DistillerGroup has no sampler)."""
    if config.split_temperatures:
        return "a temperature per data-recycling split"
    if config.synth_temperature != config.temperature:
        return "synthetic rows at their own temperature"
    if config.loss not in choices.SOFT_LOSSES:
        return f"--loss={config.loss} is not one of the soft losses"
    if config.aug == "gan" and config.gan_sampling == "device":
        return "--gan_sampling=device draws the synthetic rows inside the run's own step"
    return None


def members_of(config, pool_size):
    """The pool indices a run averages, as teacher_store.member_indices picks them."""
    count = config.teacher_pool or pool_size or config.teacher_offset + config.num_teachers
    return tuple((config.teacher_offset + i) % count for i in range(config.num_teachers))


def _key(config):
    return dataclasses.replace(config, **{field: None for field in PER_STUDENT_FIELDS})


def pool_sizes(runs):
    """Each teacher directory's ensemble size, from the teachers runs among `runs`."""
    return {r.directory: r.config.num_teachers for r in runs if r.kind == "teachers"}


def groups(runs, max_students, pools=None):
    """The distill runs of `runs`, in groups of at most `max_students` that
    could share a teacher pass (in order; a run that cannot share is a group
    of one). `pools`: ensemble sizes by teacher directory (default: from the
    teachers runs among `runs`)."""
    pools = pool_sizes(runs) if pools is None else pools
    open_groups, found = {}, []
    for run in (r for r in runs if r.kind == "distill"):
        config = run.config
        members = members_of(config, pools.get(config.teacher_dir))
        key = None if max_students <= 1 or why_not_grouped(config) else _key(config)
        group = open_groups.get(key) if key is not None else None
        if group is None or len(group[0]) >= max_students:
            group = ([], [])
            found.append(group)
            if key is not None:
                open_groups[key] = group
        group[0].append(run)
        group[1].append(members)
    return [Group(tuple(r), tuple(m)) for r, m in found]


def gpu_hours(group):
    """The group's estimate at the paper's scale: each student's training
    step, and each pool member's forward once (single runs: once per student)."""
    config = group.runs[0].config
    student = sum(kinds.ARCH_COST.get(r.config.student_arch, 1.0) for r in group.runs)
    teacher = kinds.ARCH_COST.get(config.teacher_arch, 1.0) / 3
    return kinds.hours(kinds.distill_image_epochs(config), student + group.forwards[1] * teacher)


def summary(todo, max_students, pools, hours=False):
    """The plan's lines on sharing for the runs left, `todo`; with `hours`,
    the GPU-hour estimate (paper scale) alone and shared."""
    found = groups(todo, max_students, pools)
    if not found:
        return []
    shared = [g for g in found if len(g.runs) > 1]
    alone = sum(g.forwards[0] for g in found)
    grouped = sum(g.forwards[1] for g in found)
    line = (f"teacher sharing (--group_students={max_students}): {len(found)} teacher passes for "
            f"{sum(len(g.runs) for g in found)} students left; member forwards per batch {alone} as single runs, "
            f"{grouped} shared")
    if hours:
        hours_alone = sum(kinds.JOBS["distill"].gpu_hours(r.config, r.directory) for g in found for r in g.runs)
        line += (f"; distillation about {hours_alone:,.0f} GPU-hours alone, "
                 f"{sum(gpu_hours(g) for g in found):,.0f} shared")
    lines = [line + " (an estimate: the study executor still runs each student alone)"]
    for k, g in enumerate(shared):
        lines.append(f"  group {k}: {len(g.runs)} students, member forwards {g.forwards[0]} -> {g.forwards[1]}: "
                     + ", ".join(f"{r.config.aug} m {r.config.num_teachers} tau {r.config.temperature:g} "
                                 f"s{r.config.seed}" for r in g.runs))
    return lines
