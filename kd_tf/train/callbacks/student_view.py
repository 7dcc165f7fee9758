"""One student's callbacks inside a DistillerGroup's fit: they see that
student's logs under their single-run names, so that its metrics.csv,
TensorBoard scalars, progress lines and checkpoints are those of its own run."""

import keras

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin", "on_test_end")
# Forwarded only where one of the callbacks has them: Keras waits for every step's logs on the host
# for a callback with a batch hook that is not async-safe.
_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end")


def _overrides(callback, hook):
    return getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook)


class StudentView(keras.callbacks.Callback):
    """Forwards every hook to `callbacks` with student k's logs only:
    s<k>_loss becomes loss and val_s<k>_loss val_loss; other students' keys are dropped."""

    def __init__(self, k, callbacks):
        super().__init__()
        self.prefix, self.callbacks = f"s{k}_", list(callbacks)
        batch_users = [c for c in self.callbacks if any(_overrides(c, h) for h in _BATCH_HOOKS)]
        self.async_safe = all(getattr(c, "async_safe", False) for c in batch_users)
        for hook in _BATCH_HOOKS:
            if any(_overrides(c, hook) for c in self.callbacks):
                setattr(self, hook, _forward(hook).__get__(self))

    def set_model(self, model):
        super().set_model(model)
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for c in self.callbacks:
            c.set_params(params)

    def own_logs(self, logs):
        own = {}
        for key, value in (logs or {}).items():
            if key.startswith(self.prefix):
                own[key[len(self.prefix):]] = value
            elif key.startswith("val_" + self.prefix):
                own["val_" + key[len("val_" + self.prefix):]] = value
        return own


def _forward(hook):
    indexed = "epoch" in hook or "batch" in hook  # (epoch or batch, logs); else (logs)

    def method(self, *args, **kwargs):
        args = list(args)
        logs = kwargs.pop("logs", None) if "logs" in kwargs else (args.pop() if len(args) > indexed else None)
        for c in self.callbacks:
            getattr(c, hook)(*args, logs=self.own_logs(logs))
    method.__name__ = hook
    return method


for _hook in _HOOKS:
    setattr(StudentView, _hook, _forward(_hook))
