"""What an experiment is, as plain dataclasses: the configs of each job, the
run-time options kept apart from them, the study's recipes and its defaults
per dataset. Free of TensorFlow, so that binaries check flags before loading it."""
