"""report.md of a study: what it reproduces, the command that does, its
figures, its numbers (mean and std over trials, each linked to the runs it
comes from) with the paper's beside them, and any run that failed."""

import math
import os

from kd_tf.studies.figures import select, show
from kd_tf.train.run_dir import resolve_path


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


def write(study, summary, figures, outcomes, command, report_dir):
    """Writes report_dir/report.md; figures: {name: png path or None}."""
    lines = [f"# Study `{study.name}` ({study.scale} scale)", "",
             f"Reproduces: {study.reproduces}.", "", "```sh", command, "```", ""]
    if study.scale != "paper":
        lines += ["**This is a smoke-scale run.** It exercises the study's whole pipeline on the embedded data "
                  "with tiny models and few epochs; its numbers are not the paper's and should not be compared "
                  "with them.", ""]
    lines += [f"- {note}" for note in study.notes] + ([""] if study.notes else [])
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
                  f"{figure.model} on {figure.split}; mean ± std over trials; [i] links trial i's run.", "",
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
