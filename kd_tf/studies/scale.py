"""--scale: the paper's exact setting; a smoke version that keeps every
study's structure (its kinds of runs, every axis its figure plots, the same
figure) but runs offline on the embedded data with tiny models and few
epochs; or the cpu scale: the smoke scale's data and models trained to their
plateau (the embedded recipes) with 5 trials, so that the paper's claims
that do not need CIFAR-100 can be tested on a laptop (kd_tf/studies/claims.py)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Scale:
    name: str
    paper: bool
    dataset: str  # the image dataset most studies use (CIFAR-100 in the paper)
    trials: int
    student_epochs: int | None = None  # None: the dataset's recipe
    teacher_epochs: int | None = None
    teacher_train_size: int | None = None  # None: the recipe's
    gan: tuple = ()  # GanConfig overrides, ((field, value), ...)
    thin: bool = False  # one or two values of every axis (tests): see axis()

    def axis(self, paper_values, smoke_values, keep=(), cpu=None):
        """An axis's values: the paper's, or the smoke scale's (thinner), or at
        the cpu scale `cpu` (default: the smoke scale's). A thin scale keeps an
        axis's last value, its first too where the axis has more than two, and
        those in `keep` (values other runs of the study need, such as the
        baseline policy): every kind of run, far fewer runs."""
        values = tuple(paper_values if self.paper else cpu if self.name == "cpu" and cpu is not None
                       else smoke_values)
        if self.thin:
            ends = (0, len(values) - 1) if len(values) > 2 else (len(values) - 1,)
            values = tuple(v for i, v in enumerate(values) if i in ends or v in keep)
        return values

    def pick(self, paper_value, smoke_value):
        return paper_value if self.paper else smoke_value


PAPER = Scale("paper", paper=True, dataset="cifar100", trials=3)
# mnist5k, LeNet-5-sized models, a few epochs: every study's whole pipeline in minutes on two cores.
SMOKE = Scale("smoke", paper=False, dataset="mnist5k", trials=2, student_epochs=3, teacher_epochs=8,
              gan=(("gen_steps", 100), ("checkpoint_every", 50), ("gen_width", 16), ("disc_width", 16),
                   ("batch_size", 32), ("fid_samples", 100)))
# The embedded recipes (students 20 epochs, teachers 30; the quick SN-GAN) and 5 trials on mnist5k.
CPU = Scale("cpu", paper=False, dataset="mnist5k", trials=5)
SCALES = {"smoke": SMOKE, "cpu": CPU, "paper": PAPER}
# Studies whose design has no stand-in on the embedded digits: refused at --scale=cpu.
CPU_REFUSED = {"table1": "table1 is IMDB (BiLSTM) and ImageNet (ResNet-50): no embedded stand-in tests their claims; "
                         "run it at --scale=paper (or --scale=smoke, the pipeline check)."}
