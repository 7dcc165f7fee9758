"""The distillation step's speed as `fit` runs it (kd_tf's Distiller and
TorchSGD), its two parts (the teachers' forward, the student's step), its
FLOP roofline on this machine, and the reference's PyTorch step on the same
workload, in a process of its own (experiments/bench_step)."""

import dataclasses
import itertools
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from kd_tf.bench.timing import Rate, timed
from kd_tf.config.recipes import STUDENT
from kd_tf.distill.distiller import Distiller
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.distill.group import DistillerGroup, StudentSettings
from kd_tf.models.registry import build_model
from kd_tf.train import precision as precisions
from kd_tf.train.optimizers import make_optimizer

IMAGE_SHAPE = (32, 32, 3)
TEMPERATURE = 4.0


@dataclasses.dataclass(frozen=True)
class Workload:
    arch: str = "preresnet56"
    num_teachers: int = 5
    batch_size: int = 128
    num_classes: int = 100
    precision: str = "fp32"
    teacher_precision: str | None = None  # the student's

    def __post_init__(self):
        if self.teacher_precision is None:
            object.__setattr__(self, "teacher_precision", self.precision)
    jit_compile: bool = False
    steps: int = 3  # per timed repeat
    repeats: int = 3
    seed: int = 0

    def batch(self):
        """Random inputs in [-1, 1] and labels, the same for kd_tf and the reference."""
        rng = np.random.default_rng(self.seed)
        images = rng.uniform(-1, 1, (self.batch_size, *IMAGE_SHAPE)).astype(np.float32)
        labels = rng.integers(0, self.num_classes, self.batch_size).astype(np.int32)
        return images, labels


def _timed(name, run_steps, workload):
    return Rate(name, timed(run_steps, workload.steps, workload.repeats, workload.batch_size))


class _BatchClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def _timed_fit(name, model, data, workload):
    """One `fit` of warm-up + repeats x steps steps, timed between batch ends
    (fit's own start-up excluded, as in a long run)."""
    warmup = max(2, workload.steps // 2)
    clock = _BatchClock()
    model.fit(data, epochs=1, steps_per_epoch=warmup + workload.steps * workload.repeats, verbose=0,
              callbacks=[clock])
    ends = clock.times[warmup - 1::workload.steps]
    return Rate(name, tuple(workload.steps * workload.batch_size / (b - a) for a, b in zip(ends, ends[1:])))


def build_teachers(workload, precision=None):
    with precisions.policy(precision or workload.teacher_precision):
        return [build_model(workload.arch, workload.num_classes, IMAGE_SHAPE) for _ in range(workload.num_teachers)]


def build_student(workload):
    with precisions.policy(workload.precision):
        return build_model(workload.arch, workload.num_classes, IMAGE_SHAPE)


def distiller_for(workload, teachers):
    keras.utils.set_random_seed(workload.seed)
    distiller = Distiller(build_student(workload), TeacherEnsemble(teachers), temperature=TEMPERATURE)
    distiller.compile(optimizer=_student_optimizer(workload), jit_compile=workload.jit_compile)
    return distiller


def group_settings(workload, size):
    """The students of one policy and trial in the policies study: m = 1, 3, 5
    (at most the pool) at tau 1 and 4, repeated to `size` students."""
    points = [(min(m, workload.num_teachers), tau) for m in (1, 3, 5) for tau in (1.0, 4.0)]
    return [StudentSettings(tuple(range(m)), tau) for m, tau in itertools.islice(itertools.cycle(points), size)]


def _student_optimizer(workload):
    recipe = dataclasses.replace(STUDENT, batch_size=workload.batch_size)
    optimizer, _ = make_optimizer(recipe, workload.steps)
    return precisions.with_loss_scaling(optimizer, workload.precision)


def kd_tf_group_step(workload, teachers, settings):
    """A DistillerGroup's step as `fit` runs it: each image of the batch
    reaches every student (its images/s is each student's)."""
    keras.utils.set_random_seed(workload.seed)
    group = DistillerGroup([build_student(workload) for _ in settings], teachers, settings)
    group.compile(optimizers=[_student_optimizer(workload) for _ in settings], jit_compile=workload.jit_compile)
    return _timed_fit(f"kd_tf: group of {len(settings)} students (fit)", group, _repeated(workload), workload)


def kd_tf_single_steps(workload, teachers, settings):
    """Each student of `settings` as a single run (its own m members' forward
    every step), one after another: their Rates."""
    rates = []
    for s in settings:
        keras.utils.set_random_seed(workload.seed)
        distiller = Distiller(build_student(workload), TeacherEnsemble([teachers[i] for i in s.members]),
                              temperature=s.temperature)
        distiller.compile(optimizer=_student_optimizer(workload), jit_compile=workload.jit_compile)
        rates.append(_timed_fit(f"kd_tf: single run, m = {len(s.members)}, tau {s.temperature:g}", distiller,
                                _repeated(workload), workload))
    return rates


def _repeated(workload, teacher_logits=None):
    images, labels = workload.batch()
    batch = {"image": images, "label": labels, "temperature": np.full(workload.batch_size, TEMPERATURE, np.float32)}
    if teacher_logits is not None:
        batch["teacher_logits"] = teacher_logits
    return tf.data.Dataset.from_tensors(batch).repeat()


def kd_tf_step(workload, teachers):
    """The whole step as `fit` runs it, one `fit` per timed repeat."""
    return _timed_fit("kd_tf: distillation step (fit)", distiller_for(workload, teachers), _repeated(workload),
                      workload)


def kd_tf_cached_step(workload, teachers):
    """The step as `fit` runs it under --aug=none, whose batches carry the
    teachers' logits, computed once before training (the inputs repeat)."""
    logits = np.asarray(tf.cast(TeacherEnsemble(teachers)(tf.constant(workload.batch()[0]), training=False),
                                tf.float32))
    return _timed_fit("kd_tf: step, cached teacher logits (aug=none)", distiller_for(workload, teachers),
                      _repeated(workload, logits), workload)


def kd_tf_teachers(workload, teachers):
    ensemble = TeacherEnsemble(teachers)
    forward = tf.function(lambda x: ensemble(x, training=False), jit_compile=workload.jit_compile)
    images = tf.constant(workload.batch()[0])

    def run(n):
        for _ in range(n):
            out = forward(images)
        out.numpy()
    return _timed(f"kd_tf: teachers' forward ({workload.teacher_precision})", run, workload)


def kd_tf_student(workload):
    """The student's step alone: forward, soft cross-entropy, backward and
    update, with the teachers' logits given."""
    keras.utils.set_random_seed(workload.seed)
    student = build_student(workload)
    recipe = dataclasses.replace(STUDENT, batch_size=workload.batch_size)
    optimizer, _ = make_optimizer(recipe, workload.steps)
    student.compile(optimizer=precisions.with_loss_scaling(optimizer, workload.precision),
                    loss=keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=workload.jit_compile)
    images, _ = workload.batch()
    targets = tf.nn.softmax(tf.random.stateless_normal([workload.batch_size, workload.num_classes], [1, 2]))
    data = tf.data.Dataset.from_tensors((images, targets)).repeat()
    return _timed_fit(f"kd_tf: student's step ({workload.precision})", student, data, workload)


def forward_flops(model, batch_size=1):
    """FLOPs of one eval-mode forward pass (TensorFlow's op statistics on the
    frozen graph: convolutions and matrix products)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec([batch_size, *IMAGE_SHAPE], tf.float32))
    graph = convert_variables_to_constants_v2(concrete).graph
    builder = option_builder.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    return model_analyzer.profile(graph, options=options).total_float_ops


def step_flops_per_image(workload):
    """m teacher forwards and one student step (forward and a backward of
    about twice its cost), per image."""
    model = build_model(workload.arch, workload.num_classes, IMAGE_SHAPE)
    forward = forward_flops(model)
    return forward * (workload.num_teachers + 3), forward


def conv_gflops(dtype="float32", batch=128):
    """What a CIFAR PreResNet's 3x3 convolutions reach here as plain
    tf.nn.conv2d calls: the rate over its three stage shapes (32x32x16,
    16x16x32, 8x8x64), which cost the same FLOPs each, so the harmonic mean."""
    rates = [_conv_rate(dtype, batch, size, channels) for size, channels in ((32, 16), (16, 32), (8, 64))]
    return len(rates) / sum(1.0 / r for r in rates)


def _best_seconds(run, repeats):
    """The shortest of several timings of run(): for a rate this machine
    reaches (a ceiling), which a slow moment of the VM would otherwise lower."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(size=2048, repeats=9):
    """The most this CPU's fp32 arithmetic gives here: a large square matrix
    product (oneDNN's sgemm). No convolution or step runs faster than this,
    so it bounds what any fp32 speed target can ask."""
    a = tf.random.stateless_normal([size, size], [3, 4])
    b = tf.random.stateless_normal([size, size], [5, 6])
    product = tf.function(tf.linalg.matmul)
    product(a, b).numpy()
    return 2 * size**3 / _best_seconds(lambda: product(a, b).numpy(), repeats) / 1e9


def _conv_rate(dtype, batch, size, channels, steps=10, repeats=5):
    x = tf.random.normal([batch, size, size, channels], dtype=tf.float32)
    w = tf.random.normal([3, 3, channels, channels], dtype=tf.float32)
    x, w = tf.cast(x, dtype), tf.cast(w, dtype)
    conv = tf.function(lambda a, b: tf.nn.conv2d(a, b, 1, "SAME"))
    conv(x, w).numpy()

    def run():
        for _ in range(steps):
            out = conv(x, w)
        out.numpy()
    flops = 2 * batch * size * size * 9 * channels * channels * steps
    return flops / _best_seconds(run, repeats) / 1e9


def bf16_teacher_fidelity(workload):
    """Top-1 agreement (%) of bf16 teachers with the same teachers in fp32 on
    the batch, and the largest difference of their ensemble logits."""
    fp32 = build_teachers(workload, "fp32")
    bf16 = build_teachers(workload, "bf16")
    images = tf.constant(workload.batch()[0])
    for a, b in zip(fp32, bf16):
        b(images[:1], training=False)
        b.set_weights(a.get_weights())
    exact = np.asarray(TeacherEnsemble(fp32)(images, training=False), np.float32)
    reduced = np.asarray(tf.cast(TeacherEnsemble(bf16)(images, training=False), tf.float32))
    agreement = 100.0 * np.mean(np.argmax(exact, -1) == np.argmax(reduced, -1))
    return agreement, float(np.max(np.abs(exact - reduced)))


def reference_process(workload):
    """The reference's step (kd_tf/bench/torch_reference.py) on the same
    batch, in a process of its own (kd_tf/bench/reference_process.py says why)."""
    from kd_tf.bench.reference_process import ReferenceProcess

    return ReferenceProcess(depth=int(workload.arch[len("preresnet"):]), num_teachers=workload.num_teachers,
                            num_classes=workload.num_classes,
                            images_nchw=np.ascontiguousarray(np.transpose(workload.batch()[0], (0, 3, 1, 2))),
                            seed=workload.seed, temperature=TEMPERATURE, lr=STUDENT.lr,
                            weight_decay=STUDENT.weight_decay, steps=workload.steps, repeats=workload.repeats)


def reference_rates(reference, autocast_teachers=False):
    """The reference's whole step, and its teachers' forward alone."""
    step = "reference: distillation step (torch" + (", bf16 autocast teachers)" if autocast_teachers else ")")
    teachers = "reference: teachers' forward" + (" (bf16 autocast)" if autocast_teachers else "")
    return (Rate(step, reference.rates("step", autocast_teachers)),
            Rate(teachers, reference.rates("teachers", autocast_teachers)))


def paired_rates(workload, teachers, reference, rounds):
    """kd_tf's step and the reference's, timed back to back in each round,
    which of them goes first alternating: this VM's speed drifts over
    minutes, and a ratio of two figures taken far apart carries that drift.
    Yields (kd_tf images/s, reference images/s) per round."""
    distiller, data = distiller_for(workload, teachers), _repeated(workload)
    for round_ in range(rounds):
        if round_ % 2:
            ref = statistics.median(reference.rates("step"))
        kd_tf = _timed_fit("kd_tf", distiller, data, workload).median
        if not round_ % 2:
            ref = statistics.median(reference.rates("step"))
        yield kd_tf, ref
