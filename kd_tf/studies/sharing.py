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
import hashlib
import os

from kd_tf.config.distill import group_key, why_not_grouped  # noqa: F401 (why_not_grouped: for callers)
from kd_tf.config.distill import DistillGroupConfig
from kd_tf.jobs import kinds
from kd_tf.studies.spec import Run

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


def members_of(config, pool_size):
    """The pool indices a run averages, as teacher_store.member_indices picks them."""
    count = config.teacher_pool or pool_size or config.teacher_offset + config.num_teachers
    return tuple((config.teacher_offset + i) % count for i in range(config.num_teachers))


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
    # A run two points of a study share (the same config, so the same directory) is one student.
    unique = {}
    for run in runs:
        if run.kind == "distill":
            unique.setdefault(run.directory, run)
    for run in unique.values():
        config = run.config
        members = members_of(config, pools.get(config.teacher_dir))
        key = None if max_students <= 1 or why_not_grouped(config) else group_key(config)
        group = open_groups.get(key) if key is not None else None
        if group is None or len(group[0]) >= max_students:
            group = ([], [])
            found.append(group)
            if key is not None:
                open_groups[key] = group
        group[0].append(run)
        group[1].append(members)
    return [Group(tuple(r), tuple(m)) for r, m in found]


def grouped_runs(runs, max_students, finished):
    """`runs` with each group of unfinished students that can share a
    teacher pass replaced by one distill_group Run (at its first student's
    place), and every run that needs a grouped student needing its group
    instead. Returns (runs, students): students maps a group's directory to
    its students' Runs, whose outcomes the group's stands for. `finished`:
    directory -> bool."""
    todo = [r for r in runs if not finished[r.directory]]
    shared = [g for g in groups(todo, max_students, pool_sizes(runs)) if len(g.runs) > 1]
    group_of, students = {}, {}
    for g in shared:
        directories = tuple(r.directory for r in g.runs)
        digest = hashlib.sha256("\n".join(directories).encode()).hexdigest()[:8]
        first = directories[0]
        directory = os.path.join(os.path.dirname(first), "groups", f"{os.path.basename(first)}-x{len(g.runs)}-{digest}")
        needs = tuple(dict.fromkeys(d for r in g.runs for d in r.needs if d not in directories))
        run = Run("distill_group", DistillGroupConfig(tuple(r.config for r in g.runs), directories), directory,
                  needs=needs)
        students[directory] = g.runs
        group_of.update({d: run for d in directories})
    out, emitted = [], set()
    for r in runs:
        group = group_of.get(r.directory)
        if group is not None:
            if group.directory not in emitted:
                emitted.add(group.directory)
                out.append(group)
            continue
        needs = tuple(dict.fromkeys(group_of[d].directory if d in group_of else d for d in r.needs))
        out.append(dataclasses.replace(r, needs=needs) if needs != r.needs else r)
    return out, students


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
    lines = [line + " (the study runs each group of two or more as one job)"]
    for k, g in enumerate(shared):
        lines.append(f"  group {k}: {len(g.runs)} students, member forwards {g.forwards[0]} -> {g.forwards[1]}: "
                     + ", ".join(f"{r.config.aug} m {r.config.num_teachers} tau {r.config.temperature:g} "
                                 f"s{r.config.seed}" for r in g.runs))
    return lines
