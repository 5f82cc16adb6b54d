"""Activation functions by name, with Keras 3's definitions.

Example:

  relu = activations.get("relu")
  y = relu(tf.constant([-1.0, 2.0]))  # [0., 2.]
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Activation = Callable[[tf.Tensor], tf.Tensor]


def linear(x: tf.Tensor) -> tf.Tensor:
  """Identity: returns `x` unchanged."""
  return x


def softmax(x: tf.Tensor) -> tf.Tensor:
  """Softmax over the last axis."""
  return tf.nn.softmax(x, axis=-1)


def swish(x: tf.Tensor) -> tf.Tensor:
  """x * sigmoid(x)."""
  return x * tf.sigmoid(x)


def gelu(x: tf.Tensor) -> tf.Tensor:
  """Exact (erf-based) GELU, Keras's default `approximate=False`."""
  return tf.nn.gelu(x, approximate=False)


def hard_sigmoid(x: tf.Tensor) -> tf.Tensor:
  """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
  return tf.nn.relu6(x + tf.constant(3.0, x.dtype)) / tf.constant(6.0, x.dtype)


def leaky_relu(x: tf.Tensor) -> tf.Tensor:
  """Leaky ReLU with Keras 3's default negative slope 0.2."""
  return tf.nn.leaky_relu(x, alpha=0.2)


_BY_NAME: dict[str, Activation] = {
    "linear": linear,
    "relu": tf.nn.relu,
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "softmax": softmax,
    "elu": tf.nn.elu,
    "selu": tf.nn.selu,
    "softplus": tf.nn.softplus,
    "softsign": tf.nn.softsign,
    "swish": swish,
    "gelu": gelu,
    "exponential": tf.exp,
    "hard_sigmoid": hard_sigmoid,
    "leaky_relu": leaky_relu,
}


def names() -> list[str]:
  """The activation names that `get` accepts."""
  return sorted(_BY_NAME)


def get(activation: str | Activation | None) -> Activation:
  """Returns the activation function for a name, a callable or None.

  Args:
    activation: None or "linear" (identity), one of `names()`, or any
      callable tensor -> tensor (returned as is).

  Returns:
    A function tensor -> tensor.

  Raises:
    ValueError: `activation` is an unknown name or not a string/callable.
  """
  if activation is None:
    return linear
  if callable(activation):
    return activation
  if isinstance(activation, str) and activation in _BY_NAME:
    return _BY_NAME[activation]
  raise ValueError(
      f"Unknown activation {activation!r}; use None, a callable or one of "
      f"{names()}.")

