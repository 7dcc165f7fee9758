"""What a distillation stream is (policy, batch, seed, epochs, policy options)
and how it is laid out over replicas and input pipelines. Plain Python: the
step arithmetic is needed before any tf.data graph exists."""

import dataclasses

from kd_tf.data import policies
from kd_tf.errors import UserError

TEXT_POLICIES = ("none", "baseline")


def synthetic_count(batch_size, synth_ratio):
    """Synthetic rows in a batch at `synth_ratio` synthetic per real row:
    batch 128 at 1:4 -> 25 synthetic + 103 real, as in the study."""
    return int(batch_size * synth_ratio / (1.0 + synth_ratio))


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    policy: str
    batch_size: int  # global, real and synthetic rows together
    seed: int
    epochs: int
    options: policies.Options = policies.Options()
    generator: object = None  # kd_tf.data.generators.Generator, for the gan policy
    synth_ratio: float = 0.25  # synthetic rows per real row (the study's 1:4)
    synth_temperature: float = 4.0
    temperature: float = 4.0  # of streamed rows; in-memory rows carry their own

    def synthetic_per_replica(self, replicas=1):
        if self.policy != "gan":
            return 0
        return synthetic_count(self.batch_size // replicas, self.synth_ratio)

    def real_per_replica(self, replicas=1):
        return self.batch_size // replicas - self.synthetic_per_replica(replicas)


def rows_per_part(real, part_sizes):
    """How a batch's `real` rows divide among parts, as the reference's
    DistillLoader divides them among datasets: int(n_i / n * real) for every
    part but the last, which takes the rest (64 + 64 of 128 for equal halves)."""
    total = sum(part_sizes)
    rows = [int(size / total * real) for size in part_sizes[:-1]]
    return rows + [real - sum(rows)]


def steps_per_epoch(num_examples, spec, replicas=1):
    """Global steps in one pass over the distillation set (partial batches
    dropped). num_examples: a count, or the sizes of the parts batched in
    fixed proportions (the pass ends with the first part to run out)."""
    if spec.batch_size % replicas:
        raise UserError(f"--batch_size={spec.batch_size} must be divisible by the {replicas} replicas.")
    wanted = synthetic_count(spec.batch_size, spec.synth_ratio) if spec.policy == "gan" else 0
    if wanted and not spec.synthetic_per_replica(replicas):
        raise UserError(f"--aug=gan: a global batch of {spec.batch_size} holds {wanted} synthetic row(s) at "
                        f"--synth_ratio={spec.synth_ratio:g}, but each of the {replicas} replicas' "
                        f"{spec.batch_size // replicas} rows would hold none, and the run would silently be "
                        "--aug=baseline. Raise --batch_size or --synth_ratio, or use fewer replicas.")
    real = spec.real_per_replica(replicas)
    if real <= 0:
        raise UserError(f"--batch_size={spec.batch_size} leaves no real rows per replica; raise it.")
    if isinstance(num_examples, (tuple, list)):
        rows = rows_per_part(real, num_examples)
        if min(rows) <= 0:
            raise UserError(f"--batch_size={spec.batch_size} leaves a data-recycling split no rows per replica; "
                            "raise it.")
        steps = min(size // (r * replicas) for size, r in zip(num_examples, rows))
        num_examples = sum(num_examples)
    else:
        steps = num_examples // (real * replicas)
    if steps == 0:
        raise UserError(
            f"--batch_size={spec.batch_size} is larger than the {num_examples} training examples; "
            "lower --batch_size."
        )
    return steps


def check_policy(policy, properties):
    if properties.kind == "text" and policy not in TEXT_POLICIES:
        raise UserError(f"--aug={policy} augments images; text datasets take {' or '.join(TEXT_POLICIES)} "
                        "(no augmentation).")


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one input pipeline's batches are shaped and keyed."""
    pipelines: int
    pipeline: int
    replicas: int
    real: int  # real rows per (per-replica) batch
    synthetic: int

    @classmethod
    def of(cls, spec, input_context):
        replicas = input_context.num_replicas_in_sync if input_context else 1
        return cls(input_context.num_input_pipelines if input_context else 1,
                   input_context.input_pipeline_id if input_context else 0,
                   replicas, spec.real_per_replica(replicas), spec.synthetic_per_replica(replicas))

    @property
    def replicas_per_pipeline(self):
        """Consecutive batches of a pipeline go to this many replicas, one step's worth."""
        return self.replicas // self.pipelines

    def batches_per_epoch(self, steps):
        """Batches this pipeline yields per epoch: one per replica it feeds, per step."""
        return steps * self.replicas // self.pipelines
