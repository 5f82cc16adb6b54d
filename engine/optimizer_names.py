"""Names `engine.optimizers.get` accepts; importable without TensorFlow (for
flag definitions, which run before TensorFlow may load)."""

OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
