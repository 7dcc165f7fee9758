"""A study's results as tables: results.csv, one row per run x model x split
with the swept axes and the trial as columns, and summary.csv with the mean
and standard deviation over trials, as the paper reports them."""

import json
import os

import pandas as pd

from kd_tf.config.paths import resolve_path

DISTILLATION_BATCHES = "distillation_batches"
METRICS = ("accuracy", "nll", "ece", "agreement", "kl", "agreement_with_reference")


def _rows(run):
    directory = resolve_path(run.directory)
    if run.kind == "distill":
        with open(os.path.join(directory, "results_rows.json")) as f:
            rows = json.load(f)
        with open(os.path.join(directory, "results.json")) as f:
            online = json.load(f).get("online")
        # The student's loss and metrics on its last epoch's distillation batches
        # (train mode): what the reference logs as its train metrics. The loss is
        # renamed so that it cannot be read as the losses study's "loss" axis.
        online = {("distillation_loss" if k == "loss" else k): v for k, v in (online or {}).items()}
        return rows + ([{"model": "student", "split": DISTILLATION_BATCHES, **online}] if online else [])
    if run.kind == "evaluate":
        with open(resolve_path(run.config.output) + ".json") as f:
            rows = json.load(f)
        # The baseline: the other trial's student judged against this trial's teacher.
        return [{**r, "model": "independent_student"} for r in rows if r["model"] == "reference_student"]
    if run.kind == "gan":
        with open(os.path.join(directory, "results.json")) as f:
            results = json.load(f)
        return [{"model": "generator", "split": "samples",
                 **{k: v for k, v in results.items() if isinstance(v, (int, float))}}]
    return []


def results_table(study, outcomes):
    """Every finished run's rows, with its axes, trial and directory."""
    records = []
    for run in study.runs:
        outcome = outcomes.get(run.directory)
        if run.kind == "teachers" or outcome is None or outcome.status not in ("done", "finished"):
            continue
        for row in _rows(run):
            clash = sorted(set(row) & set(dict(run.labels)))
            if clash:  # a metric would silently overwrite the point's axis value
                raise ValueError(f"{run.directory}: result keys {clash} are also axes of study {study.name}; "
                                 "rename the axis in kd_tf/studies/definitions.py")
            records.append({"study": study.name, "scale": study.scale, "kind": run.kind,
                            **dict(run.labels), **row, "run": run.directory})
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    leading = ["study", "scale", "kind", *[a for a in study.axes if a in table], "trial", "model", "split"]
    leading = [c for c in dict.fromkeys(leading) if c in table]
    return table[leading + [c for c in table.columns if c not in leading]]


def summary_table(study, results):
    """Mean and std over trials of every metric, per (axes, model, split)."""
    if results.empty:
        return results
    keys = [c for c in (*study.axes, "model", "split") if c in results]
    metrics = [c for c in results.columns if c not in (*keys, "trial", "run", "study", "scale", "kind")
               and pd.api.types.is_numeric_dtype(results[c])]
    grouped = results.groupby(keys, dropna=False, sort=False)
    summary = grouped[metrics].agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary["trials"] = grouped.size()
    summary["runs"] = grouped["run"].agg(lambda runs: ";".join(runs))
    return summary.reset_index()


def write(study, outcomes, output_dir):
    results = results_table(study, outcomes)
    summary = summary_table(study, results)
    results.to_csv(os.path.join(output_dir, "results.csv"), index=False)
    summary.to_csv(os.path.join(output_dir, "summary.csv"), index=False)
    return results, summary
