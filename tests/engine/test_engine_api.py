"""The flat engine API resolves every exported name."""

import engine


def test_every_exported_name_resolves():
  for name in engine.__all__:
    assert getattr(engine, name) is not None, name


def test_flat_api_trains_a_tiny_model():
  import numpy as np
  import tensorflow as tf
  x = np.arange(8, dtype=np.float32).reshape(8, 1)
  data = lambda epoch: tf.data.Dataset.from_tensor_slices((x, 2 * x)).batch(4)
  model = engine.Sequential([engine.Dense(1)])
  trainer = engine.Trainer(model, "mse", engine.SGD(0.01), print_fn=None)
  history = trainer.fit(data, epochs=20)
  assert history.history["loss"][-1] < history.history["loss"][0]
