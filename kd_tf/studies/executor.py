"""Running a study's runs: in dependency order, skipping finished ones, at
most `parallel` at a time. A failed run is reported with its log and does
not stop the others (only the runs that need it are skipped).

local: `parallel` worker processes (kd_tf.studies.worker), each pinned to its
share of the CPUs or to GPUs of its own, each importing TensorFlow once.
ray: each run a task on an existing Ray cluster (--ray_address), which keeps
its workers, and TensorFlow in them, between tasks.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time

from absl import logging

from kd_tf.studies import plan
from kd_tf.studies.worker import payload


@dataclasses.dataclass
class Outcome:
    run: object
    status: str  # done, failed, skipped (a run it needs failed), finished (before this study run)
    seconds: float = 0.0
    error: str | None = None
    log: str | None = None


def _ready(run, outcomes):
    """go: every run it needs ended well; skip: one failed; wait: some have not ended."""
    states = [outcomes[d].status if d in outcomes else "running" for d in run.needs]
    if any(s in ("failed", "skipped") for s in states):
        return "skip"
    return "go" if all(s in ("done", "finished") for s in states) else "wait"


def _progress(outcome, index, total):
    run = outcome.run
    text = f"[{index}/{total}] {outcome.status:<7} {run.kind} {os.path.basename(run.directory)}"
    if outcome.status == "done":
        text += f" ({outcome.seconds:.1f}s)"
    elif outcome.status == "failed":
        text += f": {outcome.error} (log: {outcome.log})"
    logging.info(text)


def _schedule(runs, start, poll):
    """The dependency-ordered loop common to both executors: start(run) begins a
    run; poll() returns the Outcomes that ended since the last call."""
    # A run two points of a study share (the same config, so the same directory) runs once.
    unique = {}
    for run in runs:
        unique.setdefault(run.directory, run)
    runs = list(unique.values())
    outcomes = {r.directory: Outcome(r, "finished") for r in runs if plan.is_finished(r)}
    pending = [r for r in runs if r.directory not in outcomes]
    total, count, active = len(pending), 0, 0
    while pending or active:
        progressed = False
        for run in list(pending):
            state = _ready(run, outcomes)
            if state == "skip":
                pending.remove(run)
                outcomes[run.directory] = Outcome(run, "skipped", error="a run it needs failed")
                count += 1
                _progress(outcomes[run.directory], count, total)
                progressed = True
            elif state == "go" and start(run):
                pending.remove(run)
                active += 1
                progressed = True
        for outcome in poll():
            outcomes[outcome.run.directory] = outcome
            active -= 1
            count += 1
            _progress(outcome, count, total)
            progressed = True
        if not progressed:
            time.sleep(0.05)
    return outcomes


class LocalExecutor:
    """`parallel` worker processes on this machine."""

    def __init__(self, parallel=1, data_dir=None, gpus=(), log=os.devnull):
        self.parallel, self.data_dir, self.gpus, self.log = max(1, parallel), data_dir, tuple(gpus), log

    def _worker_env_and_cpus(self, index):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        cpus = sorted(os.sched_getaffinity(0))
        share = len(cpus) // self.parallel
        mine = cpus[index * share:(index + 1) * share] if share else cpus
        if self.gpus:
            per = max(1, len(self.gpus) // self.parallel)
            env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus[index * per:(index + 1) * per])
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""  # CPU workers stay off any GPU
        return env, mine

    def _spawn(self, index, log):
        """Worker `index`; its own messages (outside any run) go to `log`."""
        env, cpus = self._worker_env_and_cpus(index)
        process = subprocess.Popen(
            [sys.executable, "-m", "kd_tf.studies.worker", f"--cpus={','.join(map(str, cpus))}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        os.set_blocking(process.stdout.fileno(), False)
        return {"process": process, "run": None, "buffer": ""}

    def run(self, runs):
        log = open(self.log, "a")
        workers = [self._spawn(index, log) for index in range(self.parallel)]
        jobs = {}

        def start(run):
            idle = next((w for w in workers if w["run"] is None), None)
            if idle is None:
                return False
            job = {"id": run.directory, **payload(run, self.data_dir)}
            jobs[run.directory] = run
            idle["run"] = run
            idle["process"].stdin.write((json.dumps(job) + "\n").encode())
            idle["process"].stdin.flush()
            return True

        def poll():
            ended = []
            for worker in workers:
                if worker["run"] is None:
                    continue
                try:
                    worker["buffer"] += os.read(worker["process"].stdout.fileno(), 1 << 16).decode()
                except BlockingIOError:
                    pass
                if "\n" in worker["buffer"]:
                    line, worker["buffer"] = worker["buffer"].split("\n", 1)
                    answer = json.loads(line)
                    ended.append(Outcome(jobs[answer["id"]], "done" if answer["ok"] else "failed",
                                         answer["seconds"], answer["error"], answer["log"]))
                    worker["run"] = None
                elif worker["process"].poll() is not None:  # the worker died (a crash, not an exception)
                    run = worker["run"]
                    ended.append(Outcome(run, "failed", error=f"the worker exited ({worker['process'].returncode})",
                                         log=payload(run)["log"]))
                    index = workers.index(worker)
                    workers[index] = self._spawn(index, log)
            return ended

        try:
            return _schedule(runs, start, poll)
        finally:
            for worker in workers:
                worker["process"].stdin.close()
            for worker in workers:
                worker["process"].wait(timeout=60)
            log.close()


class RayExecutor:
    """Each run a Ray task on an existing cluster (kd_tf importable on its workers)."""

    def __init__(self, address, data_dir=None, cpus_per_run=1, gpus_per_run=0):
        self.address, self.data_dir = address, data_dir
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run

    def run(self, runs):
        try:
            import ray
        except ImportError as e:
            from kd_tf.errors import UserError

            raise UserError("--executor=ray needs Ray (pip install ray) on this machine and the cluster.") from e
        from kd_tf.studies import worker

        path = os.pathsep.join(p for p in sys.path if p)
        runtime_env = {"env_vars": {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}}
        if self.address:
            ray.init(address=self.address, runtime_env=runtime_env, log_to_driver=False)
        else:  # a Ray instance of this machine's own, on the loopback address
            ray.init(runtime_env=runtime_env, log_to_driver=False, include_dashboard=False,
                     _node_ip_address="127.0.0.1")
        task = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=0)(worker.execute)
        futures = {}

        def start(run):
            futures[task.remote(payload(run, self.data_dir))] = run
            return True

        def poll():
            if not futures:
                return []
            done, _ = ray.wait(list(futures), num_returns=1, timeout=0.2)
            ended = []
            for future in done:
                run = futures.pop(future)
                try:
                    answer = ray.get(future)
                    ended.append(Outcome(run, "done" if answer["ok"] else "failed", answer["seconds"],
                                         answer["error"], answer["log"]))
                except Exception as e:  # the task itself died
                    ended.append(Outcome(run, "failed", error=f"the Ray task failed: {e}", log=payload(run)["log"]))
            return ended

        try:
            return _schedule(runs, start, poll)
        finally:
            ray.shutdown()
