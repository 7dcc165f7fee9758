"""One study, end to end (experiments/study): plan its runs, run what is not
finished, then write results.csv, summary.csv, its figures and report.md.
A finished study only re-aggregates, which takes seconds."""

import dataclasses
import os
import time

from absl import logging

from kd_tf.config.paths import resolve_path
from kd_tf.errors import UserError
from kd_tf.studies import aggregate, claims, definitions, executor, figures, plan, report, sharing
from kd_tf.studies.scale import CPU_REFUSED, SCALES

FINDINGS = "findings"  # --study=findings: every study with claims, then findings.md


@dataclasses.dataclass
class StudyResult:
    output_dir: str
    plan: str
    outcomes: dict = dataclasses.field(default_factory=dict)
    report: str | None = None
    seconds: float = 0.0
    verdicts: list = dataclasses.field(default_factory=list)  # kd_tf.studies.claims.Verdict

    @property
    def failed(self):
        return [o for o in self.outcomes.values() if o.status in ("failed", "skipped")]

    @property
    def trained(self):
        return [o for o in self.outcomes.values() if o.status == "done"]


def default_output_dir(config, execution):
    return os.path.join(execution.runs_dir, "studies", f"{config.study}-{config.scale}")


def command_line(config, execution, runtime):
    """The command that reproduces this study's report."""
    flags = [f"--study={config.study}", f"--scale={config.scale}"]
    if execution.runs_dir != "runs":
        flags.append(f"--runs_dir={execution.runs_dir}")
    if runtime.data_dir:
        flags.append(f"--data_dir={runtime.data_dir}")
    return "./bazelw run //experiments:study -- " + " ".join(flags)


def make_executor(execution, data_dir, output_dir):
    if execution.executor == "ray":
        return executor.RayExecutor(execution.ray_address, data_dir, execution.cpus_per_run,
                                    execution.gpus_per_run)
    gpus = [g for g in execution.gpus.split(",") if g]
    return executor.LocalExecutor(execution.parallel, data_dir, gpus, log=os.path.join(output_dir, "workers.log"))


def run(config, execution, runtime, scale=None):
    """scale: a kd_tf.studies.scale.Scale (default: config.scale's); tests pass thinner ones."""
    if config.study == FINDINGS:
        return run_findings(config, execution, runtime, scale)
    start = time.time()
    scale = scale or SCALES[config.scale]
    if scale.name == "cpu" and config.study in CPU_REFUSED:
        raise UserError(CPU_REFUSED[config.study])
    study = definitions.build(config.study, scale, execution.runs_dir)
    output_dir = resolve_path(runtime.output_dir or default_output_dir(config, execution))
    os.makedirs(output_dir, exist_ok=True)
    finished = {r.directory: plan.is_finished(r) for r in study.runs}
    text = plan.plan_text(study, finished, execution.group_students)
    with open(os.path.join(output_dir, "plan.txt"), "w") as f:
        f.write(text + "\n")
    result = StudyResult(output_dir, text)
    if execution.dry_run:
        return result
    todo = sum(not done for done in finished.values())
    logging.info("Study %s (%s scale): %d runs, %d to run, with %s", study.name, scale.name, len(study.runs), todo,
                 f"{execution.parallel} local worker(s)" if execution.executor == "local" else "Ray")
    runs, grouped = sharing.grouped_runs(study.runs, execution.group_students, finished)
    if grouped:
        logging.info("%d students in %d groups that share a teacher pass (--group_students=%d)",
                     sum(len(g) for g in grouped.values()), len(grouped), execution.group_students)
    outcomes = make_executor(execution, runtime.data_dir, output_dir).run(runs)
    for directory, students in grouped.items():  # a group's outcome is each of its students'
        group = outcomes.pop(directory)
        for student in students:
            outcomes[student.directory] = dataclasses.replace(group, run=student)
    result.outcomes = outcomes
    results, summary = aggregate.write(study, result.outcomes, output_dir)
    interval = scale.name == "cpu"  # error bars: 95% intervals where verdicts are drawn from the runs
    drawn = {f.name: figures.draw(results, f, os.path.join(output_dir, "figures"), interval)
             if not results.empty else None for f in study.figures}
    result.verdicts = [claims.judge(c, results) for c in claims.for_study(study.name)]
    result.report = report.write(study, summary, drawn, result.outcomes,
                                 command_line(config, execution, runtime), output_dir, result.verdicts, interval)
    result.seconds = round(time.time() - start, 1)
    return result


def run_findings(config, execution, runtime, scale=None):
    """Every study that has claims (table1 aside at the cpu scale), each as
    --study=<name> would run it, then findings.md gathering every verdict."""
    start = time.time()
    scale = scale or SCALES[config.scale]
    output_dir = resolve_path(runtime.output_dir or default_output_dir(config, execution))
    os.makedirs(output_dir, exist_ok=True)
    names = [n for n in dict.fromkeys(c.study for c in claims.CLAIMS)
             if not (scale.name == "cpu" and n in CPU_REFUSED)]
    combined = StudyResult(output_dir, "")
    reports = {}
    for name in names:
        one = run(dataclasses.replace(config, study=name), execution, dataclasses.replace(runtime, output_dir=None),
                  scale)
        combined.plan += one.plan + "\n"
        combined.outcomes.update({f"{name}:{k}": v for k, v in one.outcomes.items()})
        combined.verdicts += one.verdicts
        reports[name] = one.report
    with open(os.path.join(output_dir, "plan.txt"), "w") as f:
        f.write(combined.plan)
    if not execution.dry_run:
        combined.report = report.write_findings(combined.verdicts, reports, scale.name,
                                                command_line(config, execution, runtime), output_dir)
    combined.seconds = round(time.time() - start, 1)
    return combined
