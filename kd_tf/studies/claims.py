"""The paper's claims that a study can test, each written down before any run
of it: where the paper states it, the paper's numbers, and the comparison
that tests it (metric, split, which runs against which, the direction or
threshold). A verdict is computed from a study's results.csv: the effect, a
95% bootstrap interval over trials (paired by trial where both sides have the
trial), and one of "holds", "does not hold" or "inconclusive" (the interval
includes no effect, or the margin). Plain data and numpy: no TensorFlow."""

import dataclasses
import math

import numpy as np

HOLDS, FAILS, INCONCLUSIVE, NO_DATA = "holds", "does not hold", "inconclusive", "no data"
RESAMPLES = 10_000
SEED = 0


@dataclasses.dataclass(frozen=True)
class Side:
    """The runs one side of a comparison reads: those at `where`, `model` on `split`."""
    where: tuple = ()  # ((axis, value), ...)
    split: str = "test"
    model: str = "student"


@dataclasses.dataclass(frozen=True)
class Difference:
    """metric(a) - metric(b): "greater" (> margin), "less" (< -margin) or "equal" (within +-margin)."""
    metric: str
    a: Side
    b: Side
    expect: str
    margin: float = 0.0


@dataclasses.dataclass(frozen=True)
class Trend:
    """The least-squares slope of metric against x (log2 x where log; the
    position in `order` for a categorical x): "increasing" or "decreasing"."""
    metric: str
    x: str
    side: Side
    expect: str
    log: bool = False
    order: tuple = ()


@dataclasses.dataclass(frozen=True)
class Level:
    """The mean of metric: "above" or "below" value."""
    metric: str
    side: Side
    expect: str
    value: float


@dataclasses.dataclass(frozen=True)
class Claim:
    study: str
    name: str
    statement: str
    source: str  # where the paper states it
    paper: str  # the paper's numbers, in words
    test: object  # Difference, Trend or Level


@dataclasses.dataclass(frozen=True)
class Verdict:
    claim: Claim
    effect: float
    low: float
    high: float
    verdict: str
    trials: int
    runs: tuple = ()
    unit: str = ""  # what the effect is: "difference", "slope", "mean"


def _rows(results, side, metric):
    rows = results[(results["model"] == side.model) & (results["split"] == side.split)]
    for axis, value in side.where:
        if axis not in rows:
            return rows.iloc[0:0]
        rows = rows[rows[axis] == value]
    return rows[rows[metric].notna()] if metric in rows else rows.iloc[0:0]


def _per_trial(rows, metric):
    return rows.groupby("trial")[metric].mean()


def _interval(samples):
    samples = np.asarray(samples, float)
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return math.nan, math.nan
    return float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def bootstrap_mean(values, rng):
    values = np.asarray(values, float)
    picks = rng.integers(0, len(values), size=(RESAMPLES, len(values)))
    return _interval(values[picks].mean(axis=1))


def _directional(effect, low, high, expect, margin):
    if expect == "greater":
        return HOLDS if low > margin else FAILS if high < margin else INCONCLUSIVE
    if expect == "less":
        return HOLDS if high < -margin else FAILS if low > -margin else INCONCLUSIVE
    if expect == "equal":
        return HOLDS if -margin < low and high < margin else FAILS if low > margin or high < -margin \
            else INCONCLUSIVE
    raise ValueError(f"unknown expectation {expect!r}")


def _difference(test, results, rng):
    a, b = _rows(results, test.a, test.metric), _rows(results, test.b, test.metric)
    runs = tuple(dict.fromkeys(list(a["run"]) + list(b["run"])))
    ta, tb = _per_trial(a, test.metric), _per_trial(b, test.metric)
    shared = sorted(set(ta.index) & set(tb.index))
    if len(shared) >= 2:  # paired by trial
        d = (ta[shared] - tb[shared]).to_numpy()
        effect, (low, high), n = float(d.mean()), bootstrap_mean(d, rng), len(shared)
    elif len(ta) >= 2 and len(tb) >= 2:
        va, vb = ta.to_numpy(), tb.to_numpy()
        means = (va[rng.integers(0, len(va), (RESAMPLES, len(va)))].mean(1)
                 - vb[rng.integers(0, len(vb), (RESAMPLES, len(vb)))].mean(1))
        effect, (low, high), n = float(va.mean() - vb.mean()), _interval(means), min(len(va), len(vb))
    else:
        return None, runs
    return (effect, low, high, _directional(effect, low, high, test.expect, test.margin), n, "difference"), runs


def _slope(x, y):
    if len(np.unique(x)) < 2:
        return math.nan
    return float(np.polyfit(x, y, 1)[0])


def _trend(test, results, rng):
    rows = _rows(results, test.side, test.metric)
    rows = rows[rows[test.x].notna()] if test.x in rows else rows.iloc[0:0]
    runs = tuple(dict.fromkeys(rows["run"]))
    if test.order:
        rows = rows[rows[test.x].isin(test.order)]
        x = rows[test.x].map({v: i for i, v in enumerate(test.order)}).to_numpy(float)
    else:
        x = rows[test.x].to_numpy(float)
        x = np.log2(x) if test.log else x
    y, trials = rows[test.metric].to_numpy(float), rows["trial"].to_numpy()
    ids = np.unique(trials)
    if len(ids) < 2 or len(np.unique(x)) < 2:
        return None, runs
    members = [np.flatnonzero(trials == t) for t in ids]
    samples = []
    for _ in range(RESAMPLES // 10):  # a cluster bootstrap: whole trials resampled (each slope is a fit)
        pick = np.concatenate([members[i] for i in rng.integers(0, len(ids), len(ids))])
        samples.append(_slope(x[pick], y[pick]))
    effect = _slope(x, y)
    low, high = _interval(samples)
    verdict = _directional(effect, low, high, "greater" if test.expect == "increasing" else "less", 0.0)
    return (effect, low, high, verdict, len(ids), "slope"), runs


def _level(test, results, rng):
    rows = _rows(results, test.side, test.metric)
    runs = tuple(dict.fromkeys(rows["run"]))
    values = _per_trial(rows, test.metric).to_numpy()
    if len(values) < 2:
        return None, runs
    effect, (low, high) = float(values.mean()), bootstrap_mean(values, rng)
    verdict = (_directional(effect, low - test.value, high - test.value, "greater", 0.0) if test.expect == "above"
               else _directional(effect, low - test.value, high - test.value, "less", 0.0))
    return (effect, low, high, verdict, len(values), "mean"), runs


def judge(claim, results):
    """The Verdict of `claim` on a study's results table (results.csv)."""
    rng = np.random.default_rng(SEED)
    kind = {Difference: _difference, Trend: _trend, Level: _level}[type(claim.test)]
    found, runs = (None, ()) if results.empty else kind(claim.test, results, rng)
    if found is None:
        return Verdict(claim, math.nan, math.nan, math.nan, NO_DATA, 0, runs)
    effect, low, high, verdict, trials, unit = found
    return Verdict(claim, effect, low, high, verdict, trials, runs, unit)


def describe(test):
    """The comparison in words, for the claims table."""
    def side(s):
        where = ", ".join(f"{a}={v}" for a, v in s.where)
        return f"{s.model} on {s.split}" + (f" [{where}]" if where else "")

    if isinstance(test, Difference):
        target = {"greater": f"> {test.margin:g}", "less": f"< -{test.margin:g}" if test.margin else "< 0",
                  "equal": f"within ±{test.margin:g}"}[test.expect]
        return f"{test.metric}: {side(test.a)} − {side(test.b)} {target}"
    if isinstance(test, Trend):
        x = f"log2 {test.x}" if test.log else test.x
        return f"slope of {test.metric} against {x} ({side(test.side)}) {'> 0' if test.expect == 'increasing' else '< 0'}"
    return f"mean {test.metric} ({side(test.side)}) {'>' if test.expect == 'above' else '<'} {test.value:g}"


def _s(**where):
    return tuple(where.items())


# Fixed before any cpu-scale run (issue 25); the axes are those of the
# studies at --scale=cpu (kd_tf/studies/definitions.py). Do not edit a claim
# after seeing its verdict: a claim that does not hold is a finding.
CLAIMS = (
    Claim("ensemble_size", "larger ensembles are easier to match",
          "Test agreement rises with the number of teachers m.", "Appendix B.2, Fig 10 (right)",
          "agreement rises with m (tau 1 and 4)",
          Trend("agreement", "m", Side(_s(tau=1.0)), "increasing", log=True)),
    Claim("ensemble_size", "the student disagrees on a sizeable share",
          "Even a self-distilled student (m = 1) disagrees with its teacher on at least 1% of test points.",
          "Section 1, Fig 1; section 5", "about 15% disagreement on CIFAR-100 (85% agreement)",
          Level("agreement", Side(_s(m=1, tau=1.0)), "below", 99.0)),
    Claim("mnist_emnist", "agreement rises with the distillation set",
          "Test agreement rises as the distillation set grows.", "Section 4, Fig 2",
          "LeNet-5 students reach over 99% test agreement with enough data",
          Trend("agreement", "data", Side(), "increasing",
                order=("mnist", "emnist 25%", "emnist 50%", "emnist 100%"))),
    Claim("mnist_emnist", "enough data gives high fidelity",
          "With the largest distillation set the student agrees with the teacher on over 99% of test points.",
          "Section 4, Fig 2", "over 99% test agreement",
          Level("agreement", Side(_s(data="emnist 100%")), "above", 99.0)),
    Claim("optimisation", "longer training raises train agreement",
          "Train agreement rises with the number of epochs (SGD).", "Section 6.2, Fig 6a",
          "train agreement rises from 300 to 1k to 5k epochs, with diminishing returns",
          Trend("agreement", "epochs", Side(_s(experiment="optimizer", optimizer="sgd"), split="train"),
                "increasing", log=True)),
    Claim("optimisation", "Adam does not beat SGD",
          "After the longest run, Adam's train agreement is below SGD's.", "Section 6.2, Fig 6a",
          "Adam no better than SGD at 1k and 5k epochs",
          Difference("agreement", Side(_s(experiment="optimizer", optimizer="adam", epochs=80), split="train"),
                     Side(_s(experiment="optimizer", optimizer="sgd", epochs=80), split="train"), "less")),
    Claim("optimisation", "a jump past a lambda threshold",
          "Started near the teacher (lambda = 0.875), the student reaches a higher train agreement than from "
          "a random start (lambda = 0).", "Section 6.2, Fig 6b",
          "train agreement jumps once lambda passes a threshold",
          Difference("agreement", Side(_s(experiment="interpolate", **{"lambda": 0.875}), split="train"),
                     Side(_s(experiment="interpolate", **{"lambda": 0.0}), split="train"), "greater")),
    Claim("optimisation", "no gain below the threshold",
          "Started at lambda = 0.375, the student's train agreement is within 1 point of a random start's.",
          "Section 6.2, Fig 6b", "flat below the threshold",
          Difference("agreement", Side(_s(experiment="interpolate", **{"lambda": 0.375}), split="train"),
                     Side(_s(experiment="interpolate", **{"lambda": 0.0}), split="train"), "equal", margin=1.0)),
    Claim("optimisation", "teacher-init leaves agreement unchanged",
          "Initialising the student at the teacher's own initial weights changes test agreement by less than "
          "1 point.", "Section 6.2, Table 1", "random and teacher-init agreement about equal",
          Difference("agreement", Side(_s(experiment="init", init="teacher_init")),
                     Side(_s(experiment="init", init="random")), "equal", margin=1.0)),
    Claim("policies", "heavy augmentation lowers agreement on its own data",
          "On its own augmented distillation data, the combined policy's student agrees with the teacher less "
          "than the baseline's does on baseline-augmented data (m = 1, tau 4).", "Section 6.1, Fig 5 (right)",
          "agreement on the augmented data falls as augmentation gets heavier",
          Difference("agreement", Side(_s(m=1, tau=4.0, policy="combined"), split="train_combined"),
                     Side(_s(m=1, tau=4.0, policy="baseline"), split="train_baseline"), "less")),
    Claim("policies", "mixup raises test agreement",
          "MixUp's student agrees with the teacher on test more than the baseline's (tau 4, the largest m).",
          "Section 5.1, Fig 3", "86% (MixUp) against 84.5% (baseline) at tau 4, m = 5",
          Difference("agreement", Side(_s(m=3, tau=4.0, policy="mixup")), Side(_s(m=3, tau=4.0, policy="baseline")),
                     "greater")),
    Claim("alpha", "true labels do not raise agreement",
          "Mixing in true labels (alpha = 0.5) lowers test agreement against alpha = 0 (m = 1).",
          "Appendix C.5, Fig 14", "agreement falls as alpha grows",
          Difference("agreement", Side(_s(m=1, alpha=0.5)), Side(_s(m=1, alpha=0.0)), "less")),
    Claim("subsampled", "more teachers help even at tau 1",
          "With teachers that do not fit their data, 3 teachers give a more accurate student than 1, at tau 1.",
          "Appendix B.1, Fig 9", "accuracy rises with m at tau 1",
          Difference("accuracy", Side(_s(m=3, tau=1.0)), Side(_s(m=1, tau=1.0)), "greater")),
    Claim("gan_enlarged", "high train agreement, low test agreement",
          "With the largest GAN-enlarged set, the student agrees with its teacher more on that set than on test "
          "(m = 1).", "Section 6.1, Fig 1 and Fig 5 (left)",
          "about 95% train agreement, below 80% test agreement with +50k",
          Difference("agreement", Side(_s(m=1, added=1.0), split="distillation"), Side(_s(m=1, added=1.0)),
                     "greater")),
)


def for_study(name):
    return tuple(c for c in CLAIMS if c.study == name)
