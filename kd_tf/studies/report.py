"""report.md of a study: what it reproduces, the command that does, its
figures, its numbers (mean and std over trials, each linked to the runs it
comes from) with the paper's beside them, and any run that failed."""

import math
import os

from kd_tf.config.paths import resolve_path
from kd_tf.studies import claims
from kd_tf.studies.figures import select, show


def _cell(mean, std):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    return f"{mean:.2f}" + ("" if std is None or math.isnan(std) else f" ± {std:.2f}")


def _paper(study_paper, figure_or_none, keys):
    for value in study_paper:
        where = dict(value.where)
        if all(str(keys.get(a)) == str(v) for a, v in where.items()):
            yield value


def _links(runs, report_dir):
    return " ".join(f"[{i}]({os.path.relpath(resolve_path(r), report_dir)})" for i, r in enumerate(runs.split(";")))


def figure_table(summary, figure, paper_values, report_dir):
    """The numbers behind a figure: one line per point, each linked to its runs."""
    rows = select(summary, figure)
    axes = [a for a in (figure.rows, figure.hue, figure.x) if a]
    header = axes + [f"{m}" for m in figure.metrics] + ["paper", "runs"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in rows.iterrows():
        keys = {a: row[a] for a in axes}
        keys.update(dict(figure.where))
        cells = [show(row[a]) for a in axes]
        cells += [_cell(row.get(f"{m}_mean"), row.get(f"{m}_std")) for m in figure.metrics]
        paper = [f"{v.metric} {v.value:g}" for v in _paper(paper_values, figure, keys) if v.metric in figure.metrics]
        cells += ["; ".join(paper), _links(row["runs"], report_dir)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def claims_table(verdicts, report_dir, with_study=False):
    """One line per claim: the paper's, the test, kd_tf's effect with its 95% interval, the verdict, the runs."""
    header = ["claim", "paper", "test", "kd_tf: effect [95% interval]", "trials", "verdict", "runs"]
    header = ["study"] + header if with_study else header
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for v in verdicts:
        c = v.claim
        effect = (f"{v.unit} {_number(v.effect)} [{_number(v.low)}, {_number(v.high)}]"
                  if v.trials else "")
        links = _links(";".join(v.runs), report_dir) if v.runs else ""
        lines.append(("| `" + c.study + "` " if with_study else "") + f"| {c.statement} | {c.source}: {c.paper} | {claims.describe(c.test)} | {effect} | "
                     f"{v.trials} | **{v.verdict}** | {links} |")
    return "\n".join(lines)


def write(study, summary, figures, outcomes, command, report_dir, verdicts=(), interval=False):
    """Writes report_dir/report.md; figures: {name: png path or None};
    verdicts: the study's claims judged on its results (kd_tf.studies.claims)."""
    lines = [f"# Study `{study.name}` ({study.scale} scale)", "",
             f"Reproduces: {study.reproduces}.", "", "```sh", command, "```", ""]
    if study.scale == "smoke":
        lines += ["**This is a smoke-scale run.** It exercises the study's whole pipeline on the embedded data "
                  "with tiny models and few epochs; its numbers are not the paper's and should not be compared "
                  "with them.", ""]
    elif study.scale == "cpu":
        lines += ["**This is a cpu-scale run**: the embedded digits and LeNet-5-sized models, trained to the "
                  "embedded recipes' plateau, 5 trials. Its claims' verdicts are about this setting, not the "
                  "paper's CIFAR-100 numbers.", ""]
    lines += [f"- {note}" for note in study.notes] + ([""] if study.notes else [])
    if verdicts:
        lines += ["## Claims", "", "Each claim and its test were fixed in `kd_tf/studies/claims.py` before the "
                  "runs. The interval is a 95% bootstrap over trials (paired by trial where both sides have it); "
                  "holds: the interval lies on the claimed side; does not hold: on the other side; inconclusive: "
                  "it includes no effect (or the margin)." + (" At the smoke scale the verdicts judge noise."
                                                              if study.scale == "smoke" else ""), "",
                  claims_table(verdicts, report_dir), ""]
    counts = {}
    for outcome in outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    lines += ["Runs: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + ".", ""]
    failed = [o for o in outcomes.values() if o.status in ("failed", "skipped")]
    if failed:
        lines += ["## Runs that did not finish", ""]
        lines += [f"- {o.status}: `{o.run.directory}`: {o.error}" + (f" (log: `{o.log}`)" if o.log else "")
                  for o in failed]
        lines.append("")
    for figure in study.figures:
        png = figures.get(figure.name)
        lines += [f"## {figure.title}", ""]
        if png is None:
            lines += ["No finished runs to plot.", ""]
            continue
        lines += [f"![{figure.title}]({os.path.relpath(png, report_dir)})", "",
                  f"{figure.model} on {figure.split}; mean ± std over trials"
                  + ("; error bars: 95% interval of the mean (t, over trials)" if interval else "")
                  + "; [i] links trial i's run.", "",
                  figure_table(summary, figure, study.paper_table + figure.paper, report_dir), ""]
    if not study.figures and not summary.empty:  # e.g. the GAN study: its numbers and samples
        lines += ["## Results", ""]
        for _, row in summary.iterrows():
            for run in row["runs"].split(";"):
                samples = os.path.join(resolve_path(run), "samples.png")
                if os.path.exists(samples):
                    lines += [f"![samples]({os.path.relpath(samples, report_dir)})", ""]
        metrics = [c[:-5] for c in summary.columns if c.endswith("_mean")]
        lines += ["| " + " | ".join(metrics) + " | paper |", "|" + " --- |" * (len(metrics) + 1)]
        for _, row in summary.iterrows():
            paper = "; ".join(f"{v.metric} {v.value:g} ({v.source})" for v in study.paper_table)
            lines.append("| " + " | ".join(_cell(row[f"{m}_mean"], row[f"{m}_std"]) for m in metrics)
                         + f" | {paper} |")
        lines.append("")
    lines += ["Files: `results.csv` (one row per run, model and split), `summary.csv` (mean and std over "
              "trials), `figures/` (PNG and SVG), `plan.txt` (every run and its directory).", ""]
    path = os.path.join(report_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def write_findings(verdicts, reports, scale, command, report_dir):
    """findings.md: every claim of every study with claims, their verdicts, and each study's report."""
    counts = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    lines = [f"# Findings ({scale} scale)", "", "```sh", command, "```", "",
             "Verdicts: " + ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) + ".", ""]
    if scale == "smoke":
        lines += ["**Smoke scale: the verdicts judge noise; this checks the pipeline.**", ""]
    lines += ["Each study's report: " + ", ".join(f"[{name}]({os.path.relpath(path, report_dir)})"
                                               for name, path in reports.items() if path), "",
              claims_table(verdicts, report_dir, with_study=True), ""]
    path = os.path.join(report_dir, "findings.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path
