"""Turns a study's axes into runs: teacher ensembles (one directory per
distinct ensemble, grown to the members its students need), SN-GANs,
students and independent-student evaluations, each in a directory named by
everything that changes its result, so that studies share identical runs."""

import dataclasses
import os

from kd_tf.config.distill import DistillConfig, config_hash
from kd_tf.config.evaluate import EvaluateConfig
from kd_tf.config.gan import GanConfig, generator_path
from kd_tf.config.teachers import TeacherConfig
from kd_tf.studies.spec import Run


class Builder:
    def __init__(self, scale, runs_root):
        self.scale, self.root = scale, runs_root
        self._teachers = {}  # directory -> resolved TeacherConfig
        self._members = {}  # directory -> members its students need
        self._gans = {}  # directory -> resolved GanConfig
        self._runs = []  # distill and evaluate runs, in order

    def teachers(self, arch, dataset=None, train_split="all", **overrides):
        """The directory of an ensemble of `arch` members (how many: as its students need)."""
        fields = dict(dataset=dataset or self.scale.dataset, arch=arch, epochs=self.scale.teacher_epochs,
                      train_size=self.scale.teacher_train_size, train_split=train_split)
        config = TeacherConfig(**{**fields, **overrides}).resolved()
        directory = os.path.join(self.root, "teachers", config.ensemble_name())
        self._teachers.setdefault(directory, dataclasses.replace(config, teacher_dir=directory))
        self._members.setdefault(directory, 1)
        return directory

    def gan(self, dataset=None):
        """The directory of an SN-GAN trained on `dataset` (the scale's, by default)."""
        config = GanConfig(dataset=dataset or self.scale.dataset, **dict(self.scale.gan)).resolved()
        directory = os.path.join(self.root, "gan", f"{config.dataset.replace('/', '_')}-{config_hash(config)}")
        self._gans.setdefault(directory, config)
        return directory

    def distill(self, labels, teacher_dir, trial, **fields):
        """A student of the ensemble in `teacher_dir`, trial `trial` (its seed;
        the trial also picks its teachers), at the point `labels` of the study."""
        teachers = self._teachers[teacher_dir]
        needs = [teacher_dir]
        if (fields.get("aug") == "gan" or fields.get("gan_samples")) and "generator" not in fields:
            gan_dir = self.gan(fields.get("dataset"))  # trained on the distillation data
            fields["generator"] = generator_path(gan_dir)
            needs.append(gan_dir)
        fields.setdefault("dataset", self.scale.dataset)
        fields.setdefault("epochs", self.scale.student_epochs)
        config = DistillConfig(teacher_dir=teacher_dir, teacher_arch=teachers.arch, seed=trial, **fields).resolved()
        members = config.teacher_pool or (config.teacher_offset + config.num_teachers)
        self._members[teacher_dir] = max(self._members[teacher_dir], members)
        run = Run("distill", config, os.path.join(self.root, config.run_name()),
                  tuple(labels.items()) + (("trial", trial),), tuple(needs))
        self._runs.append(run)
        return run

    def independent_student(self, student, other, labels):
        """The independent-student baseline: `other` (another trial: other seed
        and teachers) judged against `student`'s teachers, on `student`'s policy."""
        config = student.config
        evaluation = EvaluateConfig(
            teacher_dir=config.teacher_dir, students=(os.path.join(student.directory, "student.keras"),),
            reference_student=os.path.join(other.directory, "student.keras"), num_teachers=config.num_teachers,
            teacher_offset=config.teacher_offset, aug=config.aug, generator=config.generator,
            generator_bn=config.generator_bn, seed=config.seed, batch_size=config.batch_size)
        name = f"{os.path.basename(student.directory)}-vs-{config_hash(evaluation, exclude=('output',))}"
        directory = os.path.join(self.root, "evaluations", name)
        evaluation = dataclasses.replace(evaluation, output=os.path.join(directory, "evaluation"))
        run = Run("evaluate", evaluation, directory, tuple(labels.items()) + (("trial", config.seed),),
                  (student.directory, other.directory))
        self._runs.append(run)
        return run

    def runs(self):
        """Every run, those that others need first: ensembles (with as many
        members as their students need), GANs, then students and evaluations."""
        teachers = [Run("teachers", dataclasses.replace(config, num_teachers=self._members[directory]), directory)
                    for directory, config in self._teachers.items()]
        gans = [Run("gan", config, directory) for directory, config in self._gans.items()]
        return tuple(teachers + gans + self._runs)
