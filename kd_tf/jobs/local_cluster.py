"""A multi-worker cluster on this machine, for development and tests: N
processes of one kd_tf job on 127.0.0.1, each with its TF_CONFIG and free
ports, their logs streamed with a [worker i] prefix. If a worker fails, the
others are stopped (they would wait for it in collectives) and the cluster
fails. On a real cluster each machine runs the same command with its own
TF_CONFIG (docs/distributed.md)."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from kd_tf.errors import UserError

JOBS = ("distill", "train_teachers", "train_gan", "evaluate")
STOP_GRACE_S = 10.0


def job_module(target):
    """//experiments:distill, experiments:distill or distill -> experiments.distill."""
    name = target.split(":")[-1] if ":" in target else target.rsplit("/", 1)[-1]
    if name not in JOBS:
        raise UserError(f"local_cluster runs one of {', '.join('//experiments:' + j for j in JOBS)}, not {target!r}. "
                        "Usage: local_cluster --workers=N -- //experiments:distill <its flags>")
    return f"experiments.{name}"


def free_ports(count):
    """Ports the OS says are free now (bound and released: a small race, fine on 127.0.0.1)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(addresses, index):
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


def worker_flags(flags):
    """The job's flags with --strategy=multi_worker (which they must not contradict)."""
    strategies = [f for f in flags if f.startswith("--strategy=")]
    if any(f != "--strategy=multi_worker" for f in strategies):
        raise UserError(f"local_cluster runs its workers with --strategy=multi_worker, not {strategies[0]}.")
    return list(flags) if strategies else [*flags, "--strategy=multi_worker"]


def _stream(proc, prefix, out, lock):
    for line in iter(proc.stdout.readline, ""):
        with lock:
            out.write(f"{prefix} {line}")
            out.flush()


def run(workers, target, flags, timeout_s=None, out=sys.stdout):
    """Runs the job on `workers` local processes; returns 0 when all succeed,
    else the first failing worker's exit status (or 124 on timeout)."""
    if workers < 1:
        raise UserError(f"--workers={workers}: at least 1.")
    module, flags = job_module(target), worker_flags(flags)
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    python_path = os.pathsep.join(p for p in sys.path if p)
    lock = threading.Lock()
    out.write(f"local_cluster: {workers} worker(s) of {module} on {', '.join(addresses)}\n")
    procs, threads = [], []
    for index in range(workers):
        env = {**os.environ, "TF_CONFIG": tf_config(addresses, index), "PYTHONPATH": python_path,
               "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", module, *flags], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        procs.append(proc)
        with lock:
            out.write(f"local_cluster: worker {index} is pid {proc.pid}\n")
        thread = threading.Thread(target=_stream, args=(proc, f"[worker {index}]", out, lock), daemon=True)
        thread.start()
        threads.append(thread)
    status = _wait(procs, timeout_s, out, lock)
    for thread in threads:
        thread.join(timeout=5)
    return status


def _wait(procs, timeout_s, out, lock):
    deadline = time.time() + timeout_s if timeout_s else None
    while True:
        codes = [p.poll() for p in procs]
        failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            index, code = failed[0]
            with lock:
                out.write(f"local_cluster: worker {index} exited with status {code}; stopping the others\n")
            _stop(procs)
            return code if code > 0 else 128 - code  # killed by a signal: 128 + its number
        if all(c == 0 for c in codes):
            return 0
        if deadline and time.time() > deadline:
            with lock:
                out.write(f"local_cluster: timed out after {timeout_s:g}s; stopping the workers\n")
            _stop(procs)
            return 124
        time.sleep(0.2)


def _stop(procs):
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    end = time.time() + STOP_GRACE_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
