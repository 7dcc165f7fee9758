"""What a study is: the runs it needs (teachers, GANs, students, evaluations)
with the axes each distillation run stands for, the figures that mirror the
paper's, and the paper's own numbers to draw beside them. Plain data, free of
TensorFlow: planning and --dry_run never load it."""

import dataclasses

@dataclasses.dataclass(frozen=True)
class Run:
    kind: str  # a key of kd_tf.jobs.kinds.JOBS
    config: object  # TeacherConfig, GanConfig, DistillConfig or EvaluateConfig (resolved)
    directory: str  # relative to the runs root
    labels: tuple = ()  # ((axis, value), ...): where this run sits in the study's figures
    needs: tuple = ()  # directories of runs that must finish first

    @property
    def label_dict(self):
        return dict(self.labels)


@dataclasses.dataclass(frozen=True)
class PaperValue:
    """A number the paper states, drawn beside kd_tf's and labelled as the paper's."""
    metric: str  # e.g. "agreement"
    value: float
    where: tuple = ()  # ((axis, value), ...) it belongs to
    source: str = ""  # e.g. "REFERENCE.md: MixUp at tau 4"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure: `metrics` (panels side by side) of `model` on `split`
    against the axis `x`, one line or bar group per value of `hue`, and a
    row of panels per value of `rows`; error bars are the std over trials."""
    name: str
    title: str
    x: str
    metrics: tuple = ("agreement",)
    model: str = "student"
    split: str = "test"
    hue: str | None = None
    rows: str | None = None
    kind: str = "line"  # or "bar"
    where: tuple = ()  # ((axis, value), ...): only these runs
    paper: tuple = ()  # PaperValue, ...


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    reproduces: str  # which figure or table of the paper
    scale: str
    runs: tuple
    figures: tuple
    axes: tuple  # the label columns, in display order
    notes: tuple = ()  # e.g. what smoke scale stands in for
    paper_table: tuple = ()  # PaperValue, ... shown in the report's table

    def run(self, directory):
        return next(r for r in self.runs if r.directory == directory)
