"""The command line of kd_tf's binaries: absl flags defined from the config
dataclasses (kd_tf.config), and `run`, which every binary's main goes through.

Free of TensorFlow: a bad flag is refused before TensorFlow loads, and the
quiet-logging settings are in place before it does.
"""

import dataclasses
import logging as std_logging
import os
import sys
import types
import typing
import warnings

from absl import app, flags
from absl import logging as absl_logging

from kd_tf.config import datasets
from kd_tf.config.options import help_text
from kd_tf.config.runtime import Runtime
from kd_tf.config.study import StudyConfig, StudyExecution
from kd_tf.errors import UserError
from kd_tf.jobs.kinds import JOBS

FLAGS = flags.FLAGS

flags.DEFINE_bool("verbose", False, "Show TensorFlow's own start-up, device and checkpoint messages "
                  "(as does -v 1).")

# Errors a user can fix exit with this status; a bug keeps its traceback (status 1).
USER_ERROR_EXIT = 2

# The configs each binary takes its flags from: (config, all fields or only these);
# a job's binary from the jobs table.
BINARY_FLAGS = {
    **{job.binary: ((job.config, None), (Runtime, job.runtime_flags)) for job in JOBS.values() if job.binary},
    "study": ((StudyConfig, None), (StudyExecution, None), (Runtime, ("data_dir", "output_dir"))),
}


def _base_type(annotation):
    """int for `int | None`, tuple for `tuple[str, ...] | None`, and so on."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    return typing.get_origin(annotation) or annotation


def define_flags(config_class, only=None, exclude=(), defaults=None, flag_values=FLAGS):
    """One absl flag per field of `config_class` (all, or `only` those, minus
    `exclude`), with its help, choices, bounds and default; `defaults`
    overrides a field's default for this binary only."""
    defaults = defaults or {}
    for field in dataclasses.fields(config_class):
        if (only is not None and field.name not in only) or field.name in exclude:
            continue
        meta, default = field.metadata, defaults.get(field.name, field.default)
        kind, text = _base_type(field.type), help_text(field)
        if meta.get("choices"):
            flags.DEFINE_enum(field.name, default, list(meta["choices"]), text, flag_values=flag_values)
        elif kind is bool:
            flags.DEFINE_bool(field.name, default, text, flag_values=flag_values)
        elif kind is int:
            flags.DEFINE_integer(field.name, default, text, lower_bound=meta.get("lower"),
                                 upper_bound=meta.get("upper"), flag_values=flag_values)
        elif kind is float:
            flags.DEFINE_float(field.name, default, text, lower_bound=meta.get("lower"),
                               upper_bound=meta.get("upper"), flag_values=flag_values)
        elif kind is tuple:
            flags.DEFINE_list(field.name, default, text, flag_values=flag_values)
        elif kind is str:
            flags.DEFINE_string(field.name, default, text, flag_values=flag_values)
        else:
            raise TypeError(f"{config_class.__name__}.{field.name}: no flag type for {field.type}.")
        if meta.get("required"):
            flags.mark_flag_as_required(field.name, flag_values=flag_values)


def define_binary_flags(binary, flag_values=FLAGS):
    """The flags of a job binary, from BINARY_FLAGS."""
    for config_class, only in BINARY_FLAGS[binary]:
        define_flags(config_class, only=only, flag_values=flag_values)


def read_flags(config_class, flag_values=FLAGS, **overrides):
    """An instance of `config_class` from the flags defined for it; fields
    without a flag keep their defaults."""
    values = {}
    for field in dataclasses.fields(config_class):
        if field.name in flag_values:
            value = flag_values[field.name].value
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return config_class(**{**values, **overrides})


def verbose(flag_values=FLAGS):
    return flag_values["verbose"].value or flag_values["verbosity"].value >= 1


def quiet_tensorflow():
    """Imports TensorFlow without its start-up chatter (CUDA probing on CPU
    machines, oneDNN and CPU-feature notices) and hides its INFO lines (one
    per checkpoint). A TF_CPP_MIN_LOG_LEVEL the user set wins.

    The lines TensorFlow's C++ code logs before absl::InitializeLog() ignore
    TF_CPP_MIN_LOG_LEVEL (tensorflow/tensorflow#100442), so the import runs
    with the process's stderr pointed at /dev/null."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("2", "3"):
        sys.stderr.flush()
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    # After the import: TensorFlow sets up its logger while loading.
    for name in ("tensorflow", "matplotlib", "h5py"):
        std_logging.getLogger(name).setLevel(std_logging.WARNING)
    # TensorFlow also logs INFO through absl's logger, which kd_tf's own
    # progress lines share: drop such records by where they come from.
    absl_logging.get_absl_handler().addFilter(_drop_library_info)
    warnings.filterwarnings("ignore", module=r"tensorflow\..*")


_LIBRARIES = tuple(f"{os.sep}{name}{os.sep}" for name in ("tensorflow", "keras", "tensorflow_datasets", "tf_keras"))


def _drop_library_info(record):
    return record.levelno >= std_logging.WARNING or not any(part in record.pathname for part in _LIBRARIES)


def _parse_flags(argv):
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}\nPass --help to see the flags.", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)


def run(main):
    """Runs a binary's main(): no positional arguments, quiet TensorFlow
    unless --verbose, and a UserError as one line on stderr with exit status 2."""

    def wrapped(argv):
        if len(argv) > 1:
            print(f"error: unexpected arguments {argv[1:]}; flags take the form --name=value.", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT)
        if not verbose():
            quiet_tensorflow()
        try:
            main()
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT)

    app.run(wrapped, flags_parser=_parse_flags)


def print_outputs(directory, tensorboard=False):
    """The last lines of a job: where its outputs are, and how to watch them."""
    print(f"outputs: {directory}")
    if tensorboard:
        beside_python = os.path.join(os.path.dirname(sys.executable), "tensorboard")
        command = beside_python if os.path.exists(beside_python) else "tensorboard"
        print(f"TensorBoard: {command} --logdir {os.path.join(directory, 'tensorboard')}")


def _default_text(field):
    path = field.metadata.get("per_dataset")
    if field.default is None:
        return datasets.describe(path) if path else ""
    if isinstance(field.default, bool):
        return str(field.default).lower()
    if field.default == "":
        return '""'
    return f"{field.default:g}" if isinstance(field.default, float) else str(field.default)


def flags_markdown(binary):
    """A job binary's flags as a Markdown table: the flag tables of README.md and docs/ are
    these (tools/update_readme_flags.py writes them, tests check them)."""
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for config_class, only in BINARY_FLAGS[binary]:
        for field in dataclasses.fields(config_class):
            if only is not None and field.name not in only:
                continue
            text = field.metadata.get("help", "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            choices = field.metadata.get("choices")
            if choices and len(choices) <= 14:
                text += f" One of: {', '.join(choices)}."
            if field.metadata.get("required"):
                text += " Required."
            lines.append(f"| `--{field.name}` | {_default_text(field)} | {text} |")
    return "\n".join(lines)
