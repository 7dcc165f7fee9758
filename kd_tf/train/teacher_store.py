"""Teacher ensembles as directories: a manifest and one file per member.

  <teacher_dir>/manifest.json                 architecture, dataset, recipe, members
  <teacher_dir>/member_<i>.keras              trained member
  <teacher_dir>/member_<i>.init.weights.h5    its initial weights (for --init=teacher_init)

Reading, checking and selecting members lives here; training missing members
is the teachers job (kd_tf.jobs.teachers).
"""

import os

import keras

from kd_tf.data.catalog import properties as dataset_properties
from kd_tf.distill.ensemble import TeacherEnsemble
from kd_tf.errors import UserError
from kd_tf.train import storage
from kd_tf.train.precision import policy

MANIFEST = "manifest.json"


class EnsembleMismatchError(UserError):
    pass


class DamagedEnsembleError(UserError):
    pass


def retrain_command(teacher_dir):
    return f"bazel run //experiments:train_teachers -- --teacher_dir={teacher_dir} --num_teachers=N"


def member_path(teacher_dir, index):
    return os.path.join(teacher_dir, f"member_{index}.keras")


def member_checkpoints_path(teacher_dir, index):
    """Epoch checkpoints of a member in training (deleted once it is saved)."""
    return os.path.join(teacher_dir, f"member_{index}.checkpoints")


def init_weights_path(teacher_dir, index):
    return os.path.join(teacher_dir, f"member_{index}.init.weights.h5")


def read_manifest(teacher_dir):
    path = os.path.join(teacher_dir, MANIFEST)
    if not storage.exists(path):
        return None
    try:
        manifest = storage.read_json(path)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("members"), list):
            raise ValueError("it has no list of members")
    except ValueError as e:  # json.JSONDecodeError included
        raise DamagedEnsembleError(
            f"{path} is damaged ({e}); the ensemble cannot be read. Move {teacher_dir} away (or delete it) and "
            f"train the ensemble again: {retrain_command(teacher_dir)}.") from e
    return manifest


def write_manifest(teacher_dir, manifest):
    """Atomically: an interrupted write leaves the previous manifest."""
    storage.write_json(os.path.join(teacher_dir, MANIFEST), manifest)


def new_manifest(architecture, dataset_name, properties, recipe=None, train_split="all", seed_base=0):
    """The manifest of an empty ensemble; recipe None marks imported members."""
    return {
        "architecture": architecture,
        "dataset": dataset_name,
        "train_split": train_split,
        "num_classes": properties.num_classes,
        "input_shape": list(properties.image_shape),
        "recipe": recipe,
        "seed_base": seed_base,  # member i has seed seed_base + i, whoever adds it
        "members": [],
    }


def check_compatible(teacher_dir, manifest, dataset_name, properties, architecture=None):
    """Fails fast, naming the directory, when an ensemble cannot serve this run."""
    problems = []
    if manifest.get("num_classes") != properties.num_classes:
        problems.append(f"it predicts {manifest.get('num_classes')} classes, {dataset_name} has "
                        f"{properties.num_classes}")
    if tuple(manifest.get("input_shape", ())) != tuple(properties.image_shape):
        problems.append(f"its input shape is {tuple(manifest.get('input_shape', ()))}, {dataset_name} "
                        f"images are {tuple(properties.image_shape)}")
    if architecture and manifest.get("architecture") != architecture:
        problems.append(f"its architecture is {manifest.get('architecture')}, not {architecture}")
    if problems:
        raise EnsembleMismatchError(
            f"The teacher ensemble in {teacher_dir} does not fit this run: {'; '.join(problems)}. "
            "Pass another --teacher_dir (an empty one trains a new ensemble)."
        )


def member_indices(manifest, num_members, offset=0):
    """Members offset .. offset+m-1, wrapping around the directory's members, so
    that trials can use disjoint teacher sets (--teacher_offset)."""
    count = len(manifest["members"])
    if count < num_members:
        raise EnsembleMismatchError(f"The ensemble holds {count} members, {num_members} were asked for.")
    return [(offset + i) % count for i in range(num_members)]


def load_members(teacher_dir, manifest, indices, precision="fp32"):
    """The members at `indices`, computing in `precision` (kd_tf's subclassed
    models build their layers under the current dtype policy when loaded)."""
    with policy(precision):
        return [load_member(teacher_dir, manifest, i) for i in indices]


def load_member(teacher_dir, manifest, index):
    """One member, or a DamagedEnsembleError naming its file and how to retrain it."""
    path = os.path.join(teacher_dir, manifest["members"][index]["file"])
    if not storage.exists(path):
        problem = "is missing"
    else:
        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as e:  # zip, h5 and Keras errors alike: the file does not load
            problem = f"does not load ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    how = (f"delete it and run {retrain_command(teacher_dir)} (a member whose file is missing is retrained with "
           "its own seed)" if manifest.get("recipe") is not None else "import it again (experiments/import_reference)")
    raise DamagedEnsembleError(f"Teacher member {index} ({path}) {problem}: {how}.")


def load_ensemble(teacher_dir, num_members=None, offset=0):
    """A TeacherEnsemble of `num_members` members (default: all) of a
    teacher directory, starting at `offset`."""
    manifest = read_manifest(teacher_dir)
    if manifest is None:
        raise EnsembleMismatchError(f"{teacher_dir} holds no teacher ensemble (no {MANIFEST}).")
    indices = member_indices(manifest, num_members or len(manifest["members"]), offset)
    return TeacherEnsemble(load_members(teacher_dir, manifest, indices))


def add_imported_member(teacher_dir, model, architecture, dataset_name, source, save):
    """Adds an imported model (e.g. a reference checkpoint) as the next member;
    save(model, path) writes it."""
    properties = dataset_properties(dataset_name)
    manifest = read_manifest(teacher_dir)
    if manifest is None:
        storage.makedirs(teacher_dir)
        manifest = new_manifest(architecture, dataset_name, properties)
    check_compatible(teacher_dir, manifest, dataset_name, properties, architecture)
    if model.num_classes != manifest["num_classes"]:
        raise EnsembleMismatchError(f"The imported model predicts {model.num_classes} classes; "
                                    f"{teacher_dir} holds {manifest['num_classes']}-class members.")
    index = len(manifest["members"])
    path = member_path(teacher_dir, index)
    save(model, path)
    manifest["members"].append({"file": os.path.basename(path), "seed": None, "source": source, "test": None})
    write_manifest(teacher_dir, manifest)
    return path
