"""--strategy and --tpu -> a tf.distribute strategy.

Failures are immediate and say what to do: a run that cannot reach its
hardware must not hang or silently fall back to the CPU.
"""

import glob
import json
import os
import socket

import tensorflow as tf

from kd_tf.errors import UserError

TPU_CONNECT_TIMEOUT_S = 5.0


class StrategyError(UserError):
    pass


def _local_tpu_present():
    return bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def _check_tpu_reachable(tpu):
    """Fails within seconds where TF's own resolver could block on the network."""
    if tpu in ("", "local"):
        if not _local_tpu_present():
            raise StrategyError(
                "--strategy=tpu: no TPU is attached to this machine (no /dev/accel* or /dev/vfio "
                "devices). On a TPU VM pass --tpu=local; for a TPU node pass --tpu=grpc://HOST:8470 "
                "or its name."
            )
        return
    if tpu.startswith("grpc://"):
        host, _, port = tpu[len("grpc://"):].rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=TPU_CONNECT_TIMEOUT_S):
                pass
        except (OSError, ValueError) as e:
            raise StrategyError(
                f"--strategy=tpu: cannot reach the TPU at --tpu={tpu} within "
                f"{TPU_CONNECT_TIMEOUT_S:.0f}s ({e}). Check the address and that the TPU is up."
            ) from e


def make_strategy(name, tpu=""):
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        if len(gpus) == 1:
            return tf.distribute.OneDeviceStrategy("/gpu:0")
        return tf.distribute.get_strategy()  # default: the CPU, no distribution
    if name == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if name == "gpu":
        if not tf.config.list_logical_devices("GPU"):
            raise StrategyError("--strategy=gpu: TensorFlow sees no GPU on this machine.")
        return tf.distribute.OneDeviceStrategy("/gpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise StrategyError(
                "--strategy=multi_worker needs the TF_CONFIG environment variable on every worker "
                '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}).'
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise StrategyError(f"TF_CONFIG is not valid JSON: {e}") from e
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        _check_tpu_reachable(tpu)
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise StrategyError(f"Unknown --strategy={name!r}.")
