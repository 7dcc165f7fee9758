"""kd_tf: a TensorFlow/Keras port of "Does Knowledge Distillation Really Work?".

The public API, e.g.:

    import kd_tf
    data = kd_tf.load_dataset("mnist5k")
    teachers = kd_tf.load_ensemble("runs/teachers/mnist5k-lenet5")
    distiller = kd_tf.Distiller(kd_tf.build_model("lenet5", 10), teachers)

Names load on first use, so `import kd_tf` (and the binaries' flag checks)
stay free of TensorFlow. kd_tf's Keras classes (architectures, the ensemble,
optimizers, schedules, distillation losses) are registered as soon as Keras
is imported (or, when a kd_tf module imports Keras first, once that module is
defined), so that `keras.saving.load_model` reads any kd_tf model after
`import kd_tf`, in either order, or after importing any kd_tf module.
"""

import importlib
import importlib.abc
import importlib.util
import sys

# Public name -> (module, attribute); attribute None: the module itself.
_API = {
    # Models.
    "build_model": ("kd_tf.models.registry", "build_model"),
    "ARCHITECTURES": ("kd_tf.models.registry", "ARCHITECTURES"),
    # Teachers.
    "TeacherEnsemble": ("kd_tf.distill.ensemble", "TeacherEnsemble"),
    "load_ensemble": ("kd_tf.train.teacher_store", "load_ensemble"),
    "train_ensemble": ("kd_tf.jobs.teachers", "train_ensemble"),
    # Distillation.
    "Distiller": ("kd_tf.distill.distiller", "Distiller"),
    "distillation_loss": ("kd_tf.distill.keras_losses", "distillation_loss"),
    "losses": ("kd_tf.distill.losses", None),
    "metrics": ("kd_tf.metrics", None),
    # Data.
    "load_dataset": ("kd_tf.data.sources", "load"),
    "policy_stream": ("kd_tf.data.pipeline", "policy_stream"),
    "POLICIES": ("kd_tf.config.choices", "POLICIES"),
    # Training and evaluation.
    "TorchSGD": ("kd_tf.train.optimizers", "TorchSGD"),
    "TorchAdam": ("kd_tf.train.optimizers", "TorchAdam"),
    "evaluate": ("kd_tf.train.evaluation", "metric_rows"),
    "export_saved_model": ("kd_tf.train.export", "export_saved_model"),
}

__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'kd_tf' has no attribute {name!r}")
    module_name, attribute = _API[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))


# Modules whose import registers Keras serializables (register_keras_serializable).
_SERIALIZABLES = ("kd_tf.models.registry", "kd_tf.distill.ensemble", "kd_tf.distill.keras_losses",
                  "kd_tf.train.optimizers", "kd_tf.train.schedules")


def _register_keras_classes():
    for name in _SERIALIZABLES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            # A partial installation (e.g. a Bazel target without the models):
            # register what is there.
            if not (e.name or "").startswith("kd_tf"):
                raise


class _RegisterAfterExec(importlib.abc.Loader):
    """A module's own loader (Keras's, or a kd_tf module's), then the hook's
    check whether kd_tf's classes can be registered now."""

    def __init__(self, loader, hook, is_keras):
        self._loader, self._hook, self._is_keras = loader, hook, is_keras

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._hook.executing += 1
        try:
            self._loader.exec_module(module)
        finally:
            self._hook.executing -= 1
        self._hook.keras_loaded |= self._is_keras
        self._hook.register_when_ready()

    def __getattr__(self, name):  # resource readers and the like
        return getattr(self._loader, name)


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """Registers kd_tf's classes once Keras has loaded and no kd_tf module is
    still executing. A kd_tf module imported before Keras (`from
    kd_tf.models.preresnet import PreResNet` as a program's first import) is
    only partly defined when Keras, which it imports, has loaded, and the
    registry imports it by name; so the registration waits for the outermost
    kd_tf module to finish. The hook stays until then: TensorFlow also looks
    keras up with importlib.util.find_spec without importing it."""

    _finding = False
    executing = 0
    keras_loaded = False

    def find_spec(self, fullname, path=None, target=None):
        if self._finding or not (fullname == "keras" or fullname.startswith("kd_tf.")):
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterExec(spec.loader, self, is_keras=fullname == "keras")
        return spec

    def register_when_ready(self):
        if self.keras_loaded and not self.executing and self in sys.meta_path:
            sys.meta_path.remove(self)
            _register_keras_classes()


if "keras" in sys.modules:
    _register_keras_classes()
elif not any(isinstance(finder, _KerasImportHook) for finder in sys.meta_path):
    sys.meta_path.insert(0, _KerasImportHook())
