"""Keras callbacks of kd_tf's jobs, one per module."""
