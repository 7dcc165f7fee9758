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
    synthetic_on_device: bool = False  # gan: the train step appends the synthetic rows, not the pipeline

    def synthetic_rows(self, replicas=1):
        """Synthetic rows in each replica's share of a step: the global batch's
        count, spread as evenly as whole rows allow (25 of 128 over 2 replicas:
        13 + 12), so that the replica count does not change the mix."""
        total = synthetic_count(self.batch_size, self.synth_ratio) if self.policy == "gan" else 0
        base, extra = divmod(total, replicas)
        return tuple(base + (r < extra) for r in range(replicas))

    def real_rows(self, replicas=1):
        """Real rows in each replica's share of a step."""
        return tuple(self.batch_size // replicas - s for s in self.synthetic_rows(replicas))

    def real_per_replica(self, replicas=1):
        """Real rows of replica 0 (of the whole batch on one device)."""
        return self.real_rows(replicas)[0]


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
    synthetic = spec.synthetic_rows(replicas)
    if sum(synthetic) and not min(synthetic):
        raise UserError(f"--aug=gan: a global batch of {spec.batch_size} holds {sum(synthetic)} synthetic row(s) "
                        f"at --synth_ratio={spec.synth_ratio:g}, too few for each of the {replicas} replicas to get "
                        "one. Raise --batch_size or --synth_ratio, or use fewer replicas.")
    if len(set(synthetic)) > 1 and spec.synthetic_on_device:
        raise UserError(f"--gan_sampling=device needs the {sum(synthetic)} synthetic rows of a batch of "
                        f"{spec.batch_size} to divide evenly among the {replicas} replicas (each replica's step has "
                        "one static shape); change --batch_size, or use --gan_sampling=host.")
    if len(set(synthetic)) > 1 and isinstance(num_examples, (tuple, list)):
        raise UserError(f"--aug=gan with data recycling needs the {sum(synthetic)} synthetic rows of a batch of "
                        f"{spec.batch_size} to divide evenly among the {replicas} replicas; change --batch_size.")
    real = min(spec.real_rows(replicas))
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
        steps = num_examples // sum(spec.real_rows(replicas))
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
    real_by_slot: tuple  # real rows of each replica this pipeline feeds, in the order it feeds them
    synthetic_by_slot: tuple

    @classmethod
    def of(cls, spec, input_context):
        replicas = input_context.num_replicas_in_sync if input_context else 1
        pipelines = input_context.num_input_pipelines if input_context else 1
        pipeline = input_context.input_pipeline_id if input_context else 0
        fed = slice(pipeline * replicas // pipelines, (pipeline + 1) * replicas // pipelines)
        return cls(pipelines, pipeline, replicas, spec.real_rows(replicas)[fed], spec.synthetic_rows(replicas)[fed])

    @property
    def uniform(self):
        """Every batch of this pipeline has the same composition."""
        return len(set(self.real_by_slot)) == 1

    @property
    def real(self):
        """Real rows per batch (a uniform layout's)."""
        return self.real_by_slot[0]

    @property
    def synthetic(self):
        """Synthetic rows per batch, the most any slot takes."""
        return max(self.synthetic_by_slot)

    @property
    def replicas_per_pipeline(self):
        """Consecutive batches of a pipeline go to this many replicas, one step's worth."""
        return self.replicas // self.pipelines

    def batches_per_epoch(self, steps):
        """Batches this pipeline yields per epoch: one per replica it feeds, per step."""
        return steps * self.replicas // self.pipelines
