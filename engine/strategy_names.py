"""Names `--strategy` accepts; importable without loading TensorFlow."""

STRATEGY_NAMES = ("default", "one_device", "mirrored", "multi_worker")
