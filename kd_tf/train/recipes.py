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


# The reference trains teachers with Nesterov too (the paper says plain momentum).
TEACHER = Recipe(epochs=200, batch_size=256, lr=0.1, final_lr=0.0)
STUDENT = Recipe(epochs=300, batch_size=128, lr=0.05, final_lr=1e-6)

# mnist5k: teachers on a 1,000-example subset (the paper's MNIST teachers see 200
# examples), students distil on all 4,000 training examples.
EMBEDDED_TEACHER = dataclasses.replace(TEACHER, epochs=30, batch_size=64, train_size=1000)
EMBEDDED_STUDENT = dataclasses.replace(STUDENT, epochs=20)


def teacher_recipe(dataset, **overrides):
    base = EMBEDDED_TEACHER if dataset == "mnist5k" else TEACHER
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def student_recipe(dataset, **overrides):
    base = EMBEDDED_STUDENT if dataset == "mnist5k" else STUDENT
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})
