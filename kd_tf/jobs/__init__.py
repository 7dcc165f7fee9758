"""Whole jobs, each a `run(config, runtime)` that the binaries call: distil,
train teachers, train an SN-GAN, evaluate saved students."""
