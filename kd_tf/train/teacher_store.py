"""Teacher ensembles as directories: a manifest and one file per member.

  <teacher_dir>/manifest.json                 architecture, dataset, recipe, members
  <teacher_dir>/member_<i>.keras              trained member
  <teacher_dir>/member_<i>.init.weights.h5    its initial weights (for --init=teacher_init)

Reading, checking and selecting members lives here; training missing members
is the teachers job (kd_tf.jobs.teachers).
"""

import dataclasses
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


@dataclasses.dataclass
class Member:
    """One member of an ensemble: its file and how it came to be."""
    file: str
    seed: int | None = None  # None: imported
    test: dict | None = None  # its test accuracy, NLL and ECE (None: imported)
    init_weights: str | None = None  # trained members: their initial weights (--init=teacher_init)
    train_seconds: float | None = None
    source: str | None = None  # imported members: where from
    extra: dict = dataclasses.field(default_factory=dict)  # keys this version does not know, kept as they are

    @classmethod
    def from_json(cls, value):
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in value.items() if k in known},
                   extra={k: v for k, v in value.items() if k not in known})

    def to_json(self):
        fields = dataclasses.asdict(self)
        value = {k: fields[k] for k in ("file", "init_weights", "seed", "train_seconds", "source", "test")
                 if fields[k] is not None or k in ("seed", "test")}
        return {**value, **self.extra}


@dataclasses.dataclass
class Manifest:
    """What an ensemble directory holds (manifest.json): what its members are
    and how new ones are trained to match them."""
    architecture: str
    dataset: str
    num_classes: int
    input_shape: tuple
    recipe: dict | None  # the members' training recipe; None: imported members, which cannot grow
    train_split: str = "all"  # or "d0" (data recycling)
    seed_base: int | None = None  # member i has seed seed_base + i, whoever adds it; older manifests have none
    members: list = dataclasses.field(default_factory=list)  # Member, ...
    recipe_name: str | None = None  # the recipe's name (paper, reference); older manifests have none
    split: str | None = None  # with train_split d0: how D0 was drawn
    member_subsets: bool = False  # member i learnt from its own subset (seed i)
    extra: dict = dataclasses.field(default_factory=dict)  # keys this version does not know, kept as they are

    @property
    def trained(self):
        """Whether the members were trained here (so that more can be)."""
        return self.recipe is not None

    @classmethod
    def from_json(cls, value):
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "members"}
        fields = {k: v for k, v in value.items() if k in known}
        fields["input_shape"] = tuple(fields.get("input_shape", ()))
        members = [Member.from_json(m) for m in value["members"]]
        return cls(**fields, members=members, extra={k: v for k, v in value.items() if k not in known | {"members"}})

    def to_json(self):
        value = {"architecture": self.architecture, "dataset": self.dataset, "train_split": self.train_split,
                 "num_classes": self.num_classes, "input_shape": list(self.input_shape), "recipe": self.recipe,
                 "seed_base": self.seed_base, "members": [m.to_json() for m in self.members]}
        if self.seed_base is None:
            del value["seed_base"]
        if self.recipe_name is not None:
            value["recipe_name"] = self.recipe_name
        if self.split is not None:
            value["split"] = self.split
        if self.member_subsets:
            value["member_subsets"] = True
        return {**value, **self.extra}


def read_manifest(teacher_dir):
    """The Manifest of `teacher_dir`, None without one, or a DamagedEnsembleError."""
    path = os.path.join(teacher_dir, MANIFEST)
    if not storage.exists(path):
        return None
    try:
        value = storage.read_json(path)
        if not isinstance(value, dict) or not isinstance(value.get("members"), list):
            raise ValueError("it has no list of members")
        manifest = Manifest.from_json(value)
    except (ValueError, TypeError) as e:  # json.JSONDecodeError included; TypeError: a missing or unknown field
        raise DamagedEnsembleError(
            f"{path} is damaged ({e}); the ensemble cannot be read. Move {teacher_dir} away (or delete it) and "
            f"train the ensemble again: {retrain_command(teacher_dir)}.") from e
    return manifest


def write_manifest(teacher_dir, manifest):
    """Atomically: an interrupted write leaves the previous manifest."""
    storage.write_json(os.path.join(teacher_dir, MANIFEST), manifest.to_json())


def new_manifest(architecture, dataset_name, properties, recipe=None, train_split="all", seed_base=0, **fields):
    """The manifest of an empty ensemble; recipe None marks imported members."""
    return Manifest(architecture, dataset_name, properties.num_classes, tuple(properties.image_shape), recipe,
                    train_split, seed_base, **fields)


def check_compatible(teacher_dir, manifest, dataset_name, properties, architecture=None):
    """Fails fast, naming the directory, when an ensemble cannot serve this run."""
    problems = []
    if manifest.num_classes != properties.num_classes:
        problems.append(f"it predicts {manifest.num_classes} classes, {dataset_name} has {properties.num_classes}")
    if tuple(manifest.input_shape) != tuple(properties.image_shape):
        problems.append(f"its input shape is {tuple(manifest.input_shape)}, {dataset_name} "
                        f"images are {tuple(properties.image_shape)}")
    if architecture and manifest.architecture != architecture:
        problems.append(f"its architecture is {manifest.architecture}, not {architecture}")
    if problems:
        raise EnsembleMismatchError(
            f"The teacher ensemble in {teacher_dir} does not fit this run: {'; '.join(problems)}. "
            "Pass another --teacher_dir (an empty one trains a new ensemble)."
        )


def member_indices(manifest, num_members, offset=0):
    """Members offset .. offset+m-1, wrapping around the directory's members, so
    that trials can use disjoint teacher sets (--teacher_offset)."""
    count = len(manifest.members)
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
    path = os.path.join(teacher_dir, manifest.members[index].file)
    if not storage.exists(path):
        problem = "is missing"
    else:
        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as e:  # zip, h5 and Keras errors alike: the file does not load
            problem = f"does not load ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    how = (f"delete it and run {retrain_command(teacher_dir)} (a member whose file is missing is retrained with "
           "its own seed)" if manifest.trained else "import it again (experiments/import_reference)")
    raise DamagedEnsembleError(f"Teacher member {index} ({path}) {problem}: {how}.")


def load_ensemble(teacher_dir, num_members=None, offset=0):
    """A TeacherEnsemble of `num_members` members (default: all) of a
    teacher directory, starting at `offset`."""
    manifest = read_manifest(teacher_dir)
    if manifest is None:
        raise EnsembleMismatchError(f"{teacher_dir} holds no teacher ensemble (no {MANIFEST}).")
    indices = member_indices(manifest, num_members or len(manifest.members), offset)
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
    if model.num_classes != manifest.num_classes:
        raise EnsembleMismatchError(f"The imported model predicts {model.num_classes} classes; "
                                    f"{teacher_dir} holds {manifest.num_classes}-class members.")
    index = len(manifest.members)
    path = member_path(teacher_dir, index)
    save(model, path)
    manifest.members.append(Member(os.path.basename(path), seed=None, test=None, source=source))
    write_manifest(teacher_dir, manifest)
    return path
