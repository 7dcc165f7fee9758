"""Training recipes (REFERENCE.md section 5), and their scaled-down versions
for the embedded dataset, which must train in minutes on two CPU cores."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    final_lr: float
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    train_size: int | None = None  # None: the whole train split
    warmup_epochs: int = 0  # linear ramp to lr before the cosine


# The reference trains teachers with Nesterov too (the paper says plain momentum).
TEACHER = Recipe(epochs=200, batch_size=256, lr=0.1, final_lr=0.0)
STUDENT = Recipe(epochs=300, batch_size=128, lr=0.05, final_lr=1e-6)

# mnist5k: teachers on a 1,000-example subset (the paper's MNIST teachers see 200
# examples), students distil on all 4,000 training examples.
EMBEDDED_TEACHER = dataclasses.replace(TEACHER, epochs=30, batch_size=64, train_size=1000)
EMBEDDED_STUDENT = dataclasses.replace(STUDENT, epochs=20)

# IMDB BiLSTM: 100 epochs, lr 1e-2, weight decay 1e-3, batch 100 (paper appendix).
IMDB = Recipe(epochs=100, batch_size=100, lr=0.01, final_lr=0.0, weight_decay=1e-3)
# ImageNet ResNet-50: 90 epochs, SGD momentum 0.9, cosine after a 5-epoch linear
# warm-up to 0.1, batch 1024; weight decay 1e-4 for teachers, none for students.
IMAGENET_TEACHER = Recipe(epochs=90, batch_size=1024, lr=0.1, final_lr=0.0, nesterov=False, warmup_epochs=5)
IMAGENET_STUDENT = dataclasses.replace(IMAGENET_TEACHER, weight_decay=0.0)

TEACHERS = {"mnist5k": EMBEDDED_TEACHER, "imdb_reviews": IMDB, "imagenet2012": IMAGENET_TEACHER}
STUDENTS = {"mnist5k": EMBEDDED_STUDENT, "imdb_reviews": IMDB, "imagenet2012": IMAGENET_STUDENT}


def _with(base, overrides):
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def teacher_recipe(dataset, **overrides):
    return _with(TEACHERS.get(dataset, TEACHER), overrides)


def student_recipe(dataset, **overrides):
    return _with(STUDENTS.get(dataset, STUDENT), overrides)
