"""Weight initializers by name, with Keras's defaults and fan computation.

An initializer is a function `(shape, dtype) -> tf.Tensor`. Random ones use
stateful TF random ops, so `tf.random.set_seed(s)` makes them repeatable.

Example:

  init = initializers.get("glorot_uniform")
  w = tf.Variable(init([3, 4], tf.float32), name="w")
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import tensorflow as tf

Initializer = Callable[[Sequence[int], tf.DType], tf.Tensor]

# Keras divides a truncated normal's stddev by this so that the truncated
# distribution keeps the intended variance.
_TRUNCATED_NORMAL_STDDEV_FIX = 0.87962566103423978


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
  """(fan_in, fan_out) as Keras computes them.

  Rank 2 is (in, out); a conv kernel (..., in, out) multiplies both by the
  receptive field size (the product of the leading spatial dims).

  Args:
    shape: the weight's shape.

  Returns:
    The pair (fan_in, fan_out).
  """
  shape = tuple(int(d) for d in shape)
  if not shape:
    return 1, 1
  if len(shape) == 1:
    return shape[0], shape[0]
  receptive_field = math.prod(shape[:-2])
  return shape[-2] * receptive_field, shape[-1] * receptive_field


def _variance_scaling(scale: float, mode: str, distribution: str
                      ) -> Initializer:
  """Keras's VarianceScaling: variance `scale / fan` for the given mode."""

  def init(shape, dtype=tf.float32):
    fan_in, fan_out = compute_fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out,
           "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, fan)
    if distribution == "truncated_normal":
      stddev = math.sqrt(variance) / _TRUNCATED_NORMAL_STDDEV_FIX
      return tf.random.truncated_normal(shape, stddev=stddev, dtype=dtype)
    limit = math.sqrt(3.0 * variance)
    return tf.random.uniform(shape, -limit, limit, dtype=dtype)

  return init


def zeros(shape: Sequence[int], dtype=tf.float32) -> tf.Tensor:
  """All zeros."""
  return tf.zeros(shape, dtype)


def ones(shape: Sequence[int], dtype=tf.float32) -> tf.Tensor:
  """All ones."""
  return tf.ones(shape, dtype)


def random_uniform(shape: Sequence[int], dtype=tf.float32) -> tf.Tensor:
  """Uniform in [-0.05, 0.05] (Keras's RandomUniform default)."""
  return tf.random.uniform(shape, -0.05, 0.05, dtype=dtype)


def random_normal(shape: Sequence[int], dtype=tf.float32) -> tf.Tensor:
  """Normal with mean 0 and stddev 0.05 (Keras's RandomNormal default)."""
  return tf.random.normal(shape, stddev=0.05, dtype=dtype)


def orthogonal(shape: Sequence[int], dtype=tf.float32) -> tf.Tensor:
  """A (semi-)orthogonal matrix, reshaped to `shape` (Keras's Orthogonal).

  Raises:
    ValueError: `shape` has rank < 2.
  """
  shape = [int(d) for d in shape]
  if len(shape) < 2:
    raise ValueError(
        f"orthogonal: the shape must have rank >= 2, got {shape}; use it for "
        "matrices or kernels only.")
  num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
  flat = tf.random.normal(
      [max(num_rows, num_cols), min(num_rows, num_cols)], dtype=dtype)
  q, r = tf.linalg.qr(flat)
  # Multiplying by the signs of diag(r) makes Q uniform over orthogonal
  # matrices (QR alone biases the signs).
  q *= tf.sign(tf.linalg.diag_part(r))
  if num_rows < num_cols:
    q = tf.transpose(q)
  return tf.reshape(q, shape)


def constant(value: float) -> Initializer:
  """An initializer that fills every element with `value`.

  Args:
    value: the fill value (a Python number).

  Returns:
    An initializer `(shape, dtype) -> tensor`.
  """

  def init(shape, dtype=tf.float32):
    return tf.fill(shape, tf.cast(value, dtype))

  return init


_BY_NAME: dict[str, Initializer] = {
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "truncated_normal"),
    "orthogonal": orthogonal,
    "zeros": zeros,
    "ones": ones,
    "uniform": random_uniform,
    "random_uniform": random_uniform,
    "normal": random_normal,
    "random_normal": random_normal,
}


def names() -> list[str]:
  """The initializer names that `get` accepts."""
  return sorted(_BY_NAME)


def get(initializer: str | Initializer) -> Initializer:
  """Returns the initializer for a name or a callable.

  Args:
    initializer: one of `names()`, or a callable `(shape, dtype) -> tensor`
      (returned as is), e.g. `constant(0.1)`.

  Returns:
    A function `(shape, dtype) -> tf.Tensor`.

  Raises:
    ValueError: `initializer` is an unknown name or not a string/callable.
  """
  if callable(initializer):
    return initializer
  if isinstance(initializer, str) and initializer in _BY_NAME:
    return _BY_NAME[initializer]
  raise ValueError(
      f"Unknown initializer {initializer!r}; use a callable "
      f"(shape, dtype) -> tensor, initializers.constant(v) or one of "
      f"{names()}.")
