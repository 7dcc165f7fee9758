"""SIGTERM (a preempted VM, a scheduler's stop): save a checkpoint of the
step reached, then exit with PREEMPTED_EXIT so that the scheduler restarts
the job, which resumes from that step.

TensorFlow's PreemptionCheckpointHandler does the hard part: under several
workers, the worker that gets the signal agrees with the others, through
the coordination service, on the step at which all of them save (no per-step
collective). It saves through `save` here, into the run's own numbered
checkpoints, and restores nothing itself (the job restored before)."""

import os
import shutil
import signal
import sys
import tempfile

import keras
import tensorflow as tf
from absl import logging

PREEMPTED_EXIT = 42  # TensorFlow's default restart code on platforms it does not know


class SaveOnPreemption(keras.callbacks.Callback):
    """save(): writes the checkpoint of the current step (on every worker)."""

    def __init__(self, strategy, save, what="training"):
        """Watches for SIGTERM from here until close()."""
        super().__init__()
        self.save, self.what = save, what
        resolver = getattr(strategy, "cluster_resolver", None)
        if resolver is not None and not resolver.cluster_spec().jobs:
            resolver = None  # one process: no coordination service
        # The handler's own (empty) checkpoint, and a directory it only reads (and finds absent): it saves
        # through `save` alone. A non-chief handler makes a `workertemp_<task>` directory beside that one,
        # so both live in a scratch directory of ours, deleted when the watch ends.
        self.scratch = tempfile.mkdtemp(prefix="kd_tf-preemption-")
        self.handler = tf.distribute.experimental.PreemptionCheckpointHandler(
            resolver, tf.train.Checkpoint(), checkpoint_dir=os.path.join(self.scratch, "unused"),
            termination_config=tf.distribute.experimental.TerminationConfig(exit_fn=self._exit, save_fn=save))

    def _exit(self):
        logging.warning("Stopped by SIGTERM: %s saved a checkpoint of the step it reached; run the same command "
                        "again to resume from it (exit status %d).", self.what, PREEMPTED_EXIT)
        shutil.rmtree(self.scratch, ignore_errors=True)
        sys.exit(PREEMPTED_EXIT)

    def on_train_batch_begin(self, batch, logs=None):
        # At the start of each step (the state of the steps done), not at its end: a batch-end hook
        # would turn off Keras's asynchronous callbacks and wait for every step's logs on the host.
        # A SIGTERM during the very last step is noticed by no further step, and the run finishes.
        self.handler.save_checkpoint_if_preempted()

    def close(self):
        """Training is over: SIGTERM kills the process again (evaluation and
        export are redone by a rerun, from the last checkpoint)."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.handler = None  # its __del__ stops its watcher threads
        shutil.rmtree(self.scratch, ignore_errors=True)
