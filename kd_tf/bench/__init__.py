"""Benchmarks that print figures (input throughput; later the training step)."""
