"""Strategy, optimiser, schedules, checkpoints, export, logging and the jobs."""
