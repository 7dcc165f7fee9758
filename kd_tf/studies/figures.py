"""A study's figures, as the paper draws them: a metric against a swept axis,
one line (or bar group) per value of another, panels per metric and per
value of a third; error bars are the std over trials, and the paper's own
numbers are drawn beside kd_tf's, labelled as the paper's. PNG and SVG."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats as scipy_stats  # noqa: E402

LABELS = {"agreement": "test agreement (%)", "accuracy": "accuracy (%)", "nll": "NLL", "ece": "ECE (%)",
          "kl": "KL(teacher || student)", "distillation_loss": "distillation loss"}


def select(results, figure):
    """The rows a figure plots."""
    rows = results[(results["model"] == figure.model) & (results["split"] == figure.split)]
    for axis, value in figure.where:
        rows = rows[rows[axis] == value]
    return rows


def show(value):
    """An axis value as text: 3, not 3.0 (pandas makes integer columns with gaps float)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ordered(values):
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen, key=float)
    except (TypeError, ValueError):
        return seen


def _matches(paper_value, x, hue, row, figure):
    where = dict(paper_value.where)
    for axis, value in ((figure.x, x), (figure.hue, hue), (figure.rows, row)):
        if axis and axis in where and str(where[axis]) != str(value):
            return False
    return all(str(where[a]) == str(v) for a, v in figure.where if a in where)


def error_bars(stats, interval):
    """The std over trials, or with `interval` the 95% t-interval of the mean's half-width."""
    std = np.nan_to_num(stats["std"].to_numpy(float))
    if not interval:
        return std
    n = stats["count"].to_numpy(float)
    t = np.where(n > 1, scipy_stats.t.ppf(0.975, np.maximum(n - 1, 1)), 0.0)
    return t * std / np.sqrt(np.maximum(n, 1))


def draw(results, figure, directory, interval=False):
    """Writes directory/<name>.png and .svg; returns the PNG's path, or None
    without data. interval: error bars are 95% intervals of the mean, not std."""
    rows = select(results, figure)
    if rows.empty:
        return None
    xs = _ordered(rows[figure.x].tolist())
    hues = _ordered(rows[figure.hue].tolist()) if figure.hue else [None]
    row_values = _ordered(rows[figure.rows].tolist()) if figure.rows else [None]
    fig, axes = plt.subplots(len(row_values), len(figure.metrics), squeeze=False,
                             figsize=(4.2 * len(figure.metrics) + (1.5 if figure.kind == "bar" else 0),
                                      3.2 * len(row_values)))
    width = 0.8 / max(len(hues), 1)
    for r, row_value in enumerate(row_values):
        for c, metric in enumerate(figure.metrics):
            ax = axes[r][c]
            for h, hue in enumerate(hues):
                part = rows
                if figure.rows:
                    part = part[part[figure.rows] == row_value]
                if figure.hue:
                    part = part[part[figure.hue] == hue]
                if metric not in part:
                    continue
                stats = part.groupby(figure.x, sort=False)[metric].agg(["mean", "std", "count"])
                present = [x for x in xs if x in stats.index]
                mean = [stats.loc[x, "mean"] for x in present]
                std = error_bars(stats.loc[present], interval)
                label = f"{figure.hue} {show(hue)}" if figure.hue else "kd_tf"
                positions = [xs.index(x) for x in present]
                if figure.kind == "bar":
                    ax.bar([p + (h - (len(hues) - 1) / 2) * width for p in positions], mean, width, yerr=std,
                           capsize=2, label=label)
                else:
                    ax.errorbar(positions, mean, yerr=std, marker="o", capsize=3, label=label)
                for paper_value in figure.paper:
                    if paper_value.metric != metric:
                        continue
                    for x in present:
                        if _matches(paper_value, x, hue, row_value, figure):
                            offset = (h - (len(hues) - 1) / 2) * width if figure.kind == "bar" else 0
                            ax.scatter([xs.index(x) + offset], [paper_value.value], marker="*", s=120,
                                       color="black", zorder=5, label="paper")
                    if not paper_value.where or all(a not in dict(paper_value.where)
                                                    for a in (figure.x, figure.hue, figure.rows) if a):
                        ax.axhline(paper_value.value, color="black", linestyle="--", linewidth=1, label="paper")
            ax.set_xticks(range(len(xs)))
            ax.set_xticklabels([show(x) for x in xs], rotation=45 if figure.kind == "bar" else 0,
                               ha="right" if figure.kind == "bar" else "center")
            ax.set_xlabel(figure.x)
            ax.set_ylabel(LABELS.get(metric, metric).replace("test ", "" if figure.split == "test" else
                                                             f"{figure.split.replace('_', ' ')} "))
            if figure.rows:
                ax.set_title(f"{figure.rows} {show(row_value)}", fontsize=9)
            handles, labels = ax.get_legend_handles_labels()
            unique = dict(zip(labels, handles))
            if unique:
                ax.legend(unique.values(), unique.keys(), fontsize=7)
    fig.suptitle(figure.title, fontsize=10)
    fig.tight_layout()
    os.makedirs(directory, exist_ok=True)
    png = os.path.join(directory, f"{figure.name}.png")
    fig.savefig(png, dpi=110)
    fig.savefig(os.path.join(directory, f"{figure.name}.svg"))
    plt.close(fig)
    return png
