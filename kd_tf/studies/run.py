"""One study, end to end (experiments/study): plan its runs, run what is not
finished, then write results.csv, summary.csv, its figures and report.md.
A finished study only re-aggregates, which takes seconds."""

import dataclasses
import os
import time

from absl import logging

from kd_tf.studies import aggregate, definitions, executor, figures, plan, report
from kd_tf.studies.scale import SCALES
from kd_tf.train.run_dir import resolve_path


@dataclasses.dataclass
class StudyResult:
    output_dir: str
    plan: str
    outcomes: dict = dataclasses.field(default_factory=dict)
    report: str | None = None
    seconds: float = 0.0

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
    start = time.time()
    scale = scale or SCALES[config.scale]
    study = definitions.build(config.study, scale, execution.runs_dir)
    output_dir = resolve_path(runtime.output_dir or default_output_dir(config, execution))
    os.makedirs(output_dir, exist_ok=True)
    finished = {r.directory: plan.is_finished(r) for r in study.runs}
    text = plan.plan_text(study, finished)
    with open(os.path.join(output_dir, "plan.txt"), "w") as f:
        f.write(text + "\n")
    result = StudyResult(output_dir, text)
    if execution.dry_run:
        return result
    todo = sum(not done for done in finished.values())
    logging.info("Study %s (%s scale): %d runs, %d to run, with %s", study.name, scale.name, len(study.runs), todo,
                 f"{execution.parallel} local worker(s)" if execution.executor == "local" else "Ray")
    result.outcomes = make_executor(execution, runtime.data_dir, output_dir).run(study.runs)
    results, summary = aggregate.write(study, result.outcomes, output_dir)
    drawn = {f.name: figures.draw(results, f, os.path.join(output_dir, "figures")) if not results.empty else None
             for f in study.figures}
    result.report = report.write(study, summary, drawn, result.outcomes,
                                 command_line(config, execution, runtime), output_dir)
    result.seconds = round(time.time() - start, 1)
    return result
