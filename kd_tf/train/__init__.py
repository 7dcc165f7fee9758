"""The training library: strategy, optimisers, schedules, checkpoints,
callbacks, evaluation, export, run directories and teacher stores. Whole jobs
are kd_tf.jobs."""
