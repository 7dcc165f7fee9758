"""--jit_compile, --steps_per_execution and --sync_batchnorm resolved
against the strategy and the machine."""

import tensorflow as tf

# A TPU step at the study's batch is short; 32 steps per execution amortise
# the host round trip (the Cloud TPU guides' usual range is 32 to 200).
TPU_STEPS_PER_EXECUTION = 32


def is_tpu(strategy):
    return isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy))


def jit_compile(flag, strategy):
    """auto: XLA on GPUs. A TPU compiles every step with XLA anyway (Keras's
    jit_compile does not apply there); on CPUs XLA measured slower (docs/distributed.md)."""
    if flag != "auto":
        return flag == "true"
    return bool(tf.config.list_logical_devices("GPU")) and not is_tpu(strategy)


def steps_per_execution(flag, strategy, steps_per_epoch):
    """The largest divisor of the epoch's steps up to the wanted number:
    Keras runs whole executions, and one must not run into the next epoch
    (its batches, its lr)."""
    wanted = (TPU_STEPS_PER_EXECUTION if is_tpu(strategy) else 1) if flag == "auto" else int(flag)
    return largest_divisor_up_to(steps_per_epoch, wanted)


def largest_divisor_up_to(n, limit):
    return max(d for d in range(1, max(1, min(n, limit)) + 1) if n % d == 0)


def sync_batchnorm(flag, strategy):
    """auto: on whenever BatchNorm would otherwise see only a replica's share."""
    if flag != "auto":
        return flag == "true"
    return strategy.num_replicas_in_sync > 1
