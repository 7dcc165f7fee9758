"""The run-directory layout (one definition)."""

import dataclasses
import os

from kd_tf.train import storage


@dataclasses.dataclass(frozen=True)
class RunDir:
    root: str

    def _join(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def flags(self):
        return self._join("flags.txt")

    @property
    def tensorboard(self):
        return self._join("tensorboard")

    @property
    def metrics_csv(self):
        return self._join("metrics.csv")

    @property
    def results_json(self):
        return self._join("results.json")

    @property
    def results_csv(self):
        return self._join("results.csv")

    @property
    def predictions(self):
        return self._join("test_predictions.npz")

    @property
    def gan_samples(self):
        return self._join("gan_samples.npz")

    @property
    def checkpoints(self):
        return self._join("checkpoints")

    @property
    def student_saved_model(self):
        return self._join("student")

    @property
    def student_init(self):
        return self._join("student_init.weights.h5")

    @property
    def student_keras(self):
        return self._join("student.keras")

    def create(self):
        storage.makedirs(self.root)
        return self

    def is_complete(self):
        return storage.exists(self.results_json)
