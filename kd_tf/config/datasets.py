"""The study's defaults per dataset, in one table: architecture, recipes of
teachers, students and the SN-GAN, and the out-of-domain source. A config
field whose option names a `per_dataset` path (kd_tf.config.options) takes
its default from here, and its --help text is written from here too."""

import collections
import dataclasses

from kd_tf.config import choices, recipes


@dataclasses.dataclass(frozen=True)
class DatasetDefaults:
    architecture: str
    teacher: recipes.Recipe = recipes.TEACHER  # the paper's
    student: recipes.Recipe = recipes.STUDENT
    gan: recipes.GanRecipe = recipes.GAN
    ood_dataset: str = "svhn_cropped"
    ood_count: int = 10_000
    temperature: float = 4.0
    teacher_dataset: str | None = None  # teachers learn from another dataset (None: this one)


_DIGITS = DatasetDefaults("lenet5")
_CIFAR = DatasetDefaults("preresnet56")

DEFAULTS = {
    # The embedded data: everything scaled to minutes on two cores.
    "mnist5k": DatasetDefaults("lenet5", teacher=recipes.EMBEDDED_TEACHER, student=recipes.EMBEDDED_STUDENT,
                               gan=recipes.EMBEDDED_GAN, ood_dataset="sample_photos", ood_count=1000),
    "mnist": DatasetDefaults("lenet5", teacher=recipes.MNIST_TEACHER),
    # The appendix's EMNIST experiment: EMNIST images distilled from MNIST teachers.
    "emnist_for_mnist": DatasetDefaults("lenet5", teacher=recipes.MNIST_TEACHER, teacher_dataset="mnist"),
    **{name: _DIGITS for name in choices.DATASETS if name.startswith("emnist/")},
    "cifar10": _CIFAR,
    "cifar100": _CIFAR,
    "svhn_cropped": _CIFAR,
    # The reference distils text at tau = 1 (text_classification.yaml).
    "imdb_reviews": DatasetDefaults("bilstm", teacher=recipes.IMDB, student=recipes.IMDB, temperature=1.0),
    "imagenet2012": DatasetDefaults("resnet50", teacher=recipes.IMAGENET_TEACHER, student=recipes.IMAGENET_STUDENT),
}


def for_dataset(name):
    if name not in DEFAULTS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(DEFAULTS)}.")
    return DEFAULTS[name]


def teacher_recipe(name, which="paper"):
    """The teacher recipe of a dataset: the paper's, or the reference config's
    (its student recipe, on the teachers' training subset)."""
    defaults = for_dataset(name)
    if which == "reference":
        return dataclasses.replace(defaults.student, train_size=defaults.teacher.train_size)
    return defaults.teacher


def teacher_dataset(name):
    """The dataset a dataset's teachers learn from."""
    return for_dataset(name).teacher_dataset or name


def lookup(name, path):
    """The default at a dotted path, e.g. lookup("mnist5k", "student.epochs") -> 20."""
    value = for_dataset(name)
    for part in path.split("."):
        value = getattr(value, part)
    return value


def describe(path):
    """The defaults at `path` over all datasets, for --help: the common value,
    then the exceptions, e.g. "300; 20 on mnist5k, 100 on imdb_reviews"."""
    values = {name: lookup(name, path) for name in DEFAULTS}
    common, _ = collections.Counter(values.values()).most_common(1)[0]
    by_value = {}
    for name, value in values.items():
        if value != common:
            by_value.setdefault(value, []).append(name)
    exceptions = [f"{_text(value)} on {', '.join(names)}" for value, names in by_value.items()]
    return _text(common) + (f"; {'; '.join(exceptions)}" if exceptions else "")


def _text(value):
    if value is None:
        return "all"  # the one None in the table: train_size, the whole split
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else f"{value:g}" \
        if isinstance(value, float) else str(value)
