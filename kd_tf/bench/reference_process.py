"""The reference's PyTorch step (torch_reference.ReferenceStep), timed in a
process of its own that never imports TensorFlow.

Timed inside bench_step's process, the reference's rate depended on what
TensorFlow had run there before: on PreResNet-20, m = 3, 199-253 images/s
after bench_step's other figures against 242-283 minutes apart without them,
its page faults per step (PyTorch hands its activations back to malloc every
step) moving between 9,000 and 55,000 with glibc's heap. That flattered kd_tf's
ratio by about 10%. A spawned process gives the reference a heap of its own,
as a run of it has."""

import multiprocessing
import sys
import traceback

from kd_tf.bench import timing


class ReferenceProcess:
    """Answers rates("step" | "teachers", autocast_teachers) with the images/s
    of each timed repeat, and info() with what the process holds."""

    def __init__(self, *, depth, num_teachers, num_classes, images_nchw, seed, temperature, lr, weight_decay,
                 steps, repeats):
        spec = dict(depth=depth, num_teachers=num_teachers, num_classes=num_classes, images=images_nchw, seed=seed,
                    temperature=temperature, lr=lr, weight_decay=weight_decay, steps=steps, repeats=repeats)
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, spec), name="reference", daemon=True)
        self._process.start()
        child.close()

    def _ask(self, *request):
        self._connection.send(request)
        try:
            status, value = self._connection.recv()
        except EOFError:
            self._process.join(5)
            raise RuntimeError(f"The reference's process ended (exit code {self._process.exitcode}).") from None
        if status == "error":
            raise RuntimeError("The reference's process failed:\n" + value)
        return value

    def rates(self, what, autocast_teachers=False):
        return self._ask(what, autocast_teachers)

    def info(self):
        return self._ask("info", False)

    def close(self):
        if self._process.is_alive():
            self._connection.send(("close", False))
            self._process.join(30)
            if self._process.is_alive():
                self._process.kill()
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _build_step(ref, spec, autocast_teachers):
    torch = ref.torch
    torch.manual_seed(spec["seed"])
    depth, classes = spec["depth"], spec["num_classes"]
    teachers = [ref.PreResNet(depth, classes) for _ in range(spec["num_teachers"])]
    step = ref.ReferenceStep(teachers, ref.PreResNet(depth, classes), spec["temperature"], lr=spec["lr"],
                             weight_decay=spec["weight_decay"])
    if autocast_teachers:
        plain = step.teacher_logits

        def teacher_logits(inputs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return plain(inputs).float()
        step.teacher_logits = teacher_logits
    return step


def _serve(connection, spec):
    from kd_tf.bench import torch_reference as ref

    images = ref.torch.from_numpy(spec["images"])
    steps = {}
    while True:
        what, autocast_teachers = connection.recv()
        if what == "close":
            return
        try:
            if what == "info":
                value = {"tensorflow_imported": "tensorflow" in sys.modules,
                         "torch_threads": ref.torch.get_num_threads(), "torch_version": ref.torch.__version__}
            else:
                if autocast_teachers not in steps:
                    steps[autocast_teachers] = _build_step(ref, spec, autocast_teachers)
                step = steps[autocast_teachers]
                run = {"step": step, "teachers": step.teacher_logits}[what]
                value = timing.timed(lambda n: [run(images) for _ in range(n)], spec["steps"], spec["repeats"],
                                     len(images))
            connection.send(("ok", value))
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it
            connection.send(("error", traceback.format_exc()))
