"""Config fields that carry their own command-line description, so that each
default is written once: in the dataclass, or, for `per_dataset` fields, in
kd_tf.config.datasets. kd_tf.cli turns these fields into absl flags."""

import dataclasses

from kd_tf.config import datasets


def option(default=None, help="", *, choices=None, lower=None, upper=None, per_dataset=None, required=False):
    """A config field. choices: the values a flag accepts; lower/upper: bounds;
    per_dataset: a path in kd_tf.config.datasets (e.g. "student.epochs") that
    gives the default when the field is None; required: the flag must be given."""
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": choices, "lower": lower, "upper": upper, "per_dataset": per_dataset,
        "required": required})


def help_text(field):
    """A field's help, with its default as --help should show it."""
    meta = field.metadata
    path = meta.get("per_dataset")
    text = meta.get("help", "")
    if path and field.default is None:
        body = text[:-1] if text.endswith(".") else text
        return f"{body} (default: {datasets.describe(path)})."
    return text


def with_dataset_defaults(config, dataset):
    """`config` with every unset per_dataset field filled in from the table."""
    updates = {}
    for field in dataclasses.fields(config):
        path = field.metadata.get("per_dataset")
        if path and getattr(config, field.name) is None:
            updates[field.name] = datasets.lookup(dataset, path)
    return dataclasses.replace(config, **updates)


def resolved_as(resolved_class, config):
    """`config`'s fields as an instance of `resolved_class`, the subclass of
    its type that marks a config whose defaults are filled in."""
    return resolved_class(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
