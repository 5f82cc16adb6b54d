"""The course's first models: one neuron fitting a line, linear regression.

* `line`: "Hello world" of the course (Introduction to TensorFlow, week 1):
  Dense(1) learns y = 2x - 1 from six points and predicts about 19 at x = 10.
* `linear_regression`: Dense(1) recovers the weights of a noisy 3-D linear
  model from 1000 samples by full-batch gradient descent.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from data.bundle import DataBundle
from data.timeseries import epoch_seed
from engine.modules.dense import Dense
from engine.modules.sequential import Sequential
from models.registry import Recipe, register

LINE_XS = (-1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
LINE_YS = (-3.0, -1.0, 1.0, 3.0, 5.0, 7.0)
LINE_PREDICT_X = 10.0

REGRESSION_W_TRUE = (2.0, -3.4, 1.7)
REGRESSION_NOISE_SCALE = 0.2


def build_single_neuron(hparams: Mapping[str, Any]) -> Sequential:
  """One Dense unit: `x @ w + b`."""
  del hparams  # The input size comes from the first batch.
  return Sequential([Dense(1)], name="single_neuron")


def line_bundle(hparams: Mapping[str, Any]) -> DataBundle:
  """The course's six (x, 2x - 1) points; extras["predict_x"] is 10.0.

  Args:
    hparams: `batch_size` (6 trains on all points at once, as Keras's
      default batch of 32 does) and `seed`.

  Returns:
    A DataBundle of [n, 1] features and labels, without validation data.
  """
  xs = np.array(LINE_XS, dtype=np.float32)[:, np.newaxis]
  ys = np.array(LINE_YS, dtype=np.float32)[:, np.newaxis]
  return _in_memory_bundle(xs, ys, hparams,
                           extras={"predict_x": LINE_PREDICT_X})


def regression_bundle(hparams: Mapping[str, Any]) -> DataBundle:
  """Samples x ~ N(0, 1) in D dims with targets `x @ w_true + 0.2 noise`.

  Args:
    hparams: `num_examples` (N), `num_features` (D, at most 3), `batch_size`
      and `seed` (draws both x and the noise).

  Returns:
    A DataBundle of [N, D] features and [N, 1] labels; extras hold
    "w_true" ([D] float32).

  Raises:
    ValueError: num_features exceeds the number of true weights.
  """
  num_features = hparams["num_features"]
  if not 1 <= num_features <= len(REGRESSION_W_TRUE):
    raise ValueError(f"num_features must be in [1, {len(REGRESSION_W_TRUE)}]"
                     f", got {num_features}")
  w_true = np.array(REGRESSION_W_TRUE[:num_features], dtype=np.float32)
  rng = np.random.RandomState(hparams["seed"])
  x = rng.randn(hparams["num_examples"], num_features).astype(np.float32)
  noise = rng.randn(hparams["num_examples"]).astype(np.float32)
  y = x @ w_true + REGRESSION_NOISE_SCALE * noise
  return _in_memory_bundle(x, y[:, np.newaxis], hparams,
                           extras={"w_true": w_true})


def _in_memory_bundle(features: np.ndarray, labels: np.ndarray,
                      hparams: Mapping[str, Any],
                      extras: dict[str, Any]) -> DataBundle:
  """Shuffled batches of in-memory arrays, the order fixed by (seed, epoch).

  A batch holding every example is the same in every epoch, so that one
  dataset is built once and returned for each epoch.
  """
  batch_size, seed = hparams["batch_size"], hparams["seed"]
  examples = tf.data.Dataset.from_tensor_slices((features, labels))
  full_batch = examples.batch(batch_size)

  def train(epoch: int) -> tf.data.Dataset:
    if batch_size >= len(features):
      return full_batch
    return examples.shuffle(
        len(features), seed=epoch_seed(seed, epoch),
        reshuffle_each_iteration=False).batch(batch_size)

  return DataBundle(train=train, validation=None,
                    steps_per_epoch=-(-len(features) // batch_size),
                    extras=extras)


LINE = register(Recipe(
    name="line",
    description="one neuron learning y = 2x - 1 from six points (course "
                "week 1, 'hello world')",
    build_model=build_single_neuron,
    make_data=line_bundle,
    loss="mse",
    optimizer="sgd",
    hparams={"learning_rate": 0.01, "batch_size": 6, "epochs": 500,
             "seed": 42},
    input_shape=lambda hparams: ((1,), "float32"),
))

LINEAR_REGRESSION = register(Recipe(
    name="linear_regression",
    description="Dense(1) recovering w_true of a noisy 3-D linear model by "
                "full-batch gradient descent",
    build_model=build_single_neuron,
    make_data=regression_bundle,
    loss="mse",
    optimizer="sgd",
    hparams={"learning_rate": 0.1, "batch_size": 1000, "epochs": 300,
             "seed": 42, "num_examples": 1000, "num_features": 3},
    input_shape=lambda hparams: ((int(hparams["num_features"]),), "float32"),
))
