"""Small shape and value modules: Flatten, Dropout, Lambda, Scale, ExpandDims.

Also holds `float_input`, the dtype rule every weighted module shares.
"""

from __future__ import annotations

import math
from typing import Callable

import tensorflow as tf

from engine import step_random
from engine.module import Module


def float_input(x, dtype: tf.DType | None, owner: str) -> tf.Tensor:
  """Converts a module's input to its floating compute dtype.

  Floating inputs keep their dtype; integer and bool inputs are cast to
  `dtype` (float32 before the module is built).

  Args:
    x: the input (tensor, array or nested lists).
    dtype: the dtype the module was built with, or None before the build.
    owner: the module's name, for the error message.

  Returns:
    `x` as a floating tensor.

  Raises:
    TypeError: `x` is floating but differs from the built `dtype`.
  """
  x = tf.convert_to_tensor(x)
  if not x.dtype.is_floating:
    return tf.cast(x, dtype or tf.float32)
  if dtype is not None and x.dtype != dtype:
    raise TypeError(
        f"{owner}: built for {dtype.name} inputs but got {x.dtype.name}; "
        f"cast the input with tf.cast(x, tf.{dtype.name}) or build a new "
        "module for this dtype.")
  return x


class Flatten(Module):
  """Flattens every dim after the batch dim: (batch, ...) -> (batch, n).

  Example:

    Flatten()(tf.zeros([2, 28, 28]))  # shape (2, 784)
  """

  def __init__(self, name: str | None = None):
    super().__init__(name=name or "flatten")

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Returns `x` reshaped to rank 2 (rank 1 inputs become (batch, 1))."""
    x = tf.convert_to_tensor(x)
    inner = x.shape[1:]
    if inner.is_fully_defined():
      # A static size keeps the output's last dim known when traced.
      return tf.reshape(x, [-1, math.prod(inner.as_list())])
    return tf.reshape(x, [tf.shape(x)[0], -1])


class Dropout(Module):
  """Inverted dropout, like Keras's: active only when `training=True`.

  During training each element is zeroed with probability `rate` and the
  survivors are scaled by 1 / (1 - rate), so the expected value is unchanged;
  at inference the input passes through unchanged. Inside the trainer's step
  (`engine.step_random`) the mask is a stateless function of (seed, global
  step, replica), so a resumed run draws the masks it would have drawn.

  Example:

    drop = Dropout(0.2)
    y = drop(x, training=True)
  """

  def __init__(self, rate: float, seed: int | None = None,
               name: str | None = None):
    """Creates the module.

    Args:
      rate: probability of dropping each element, in [0, 1).
      seed: optional op-level seed (combined with `tf.random.set_seed`).
      name: module name.

    Raises:
      ValueError: `rate` is outside [0, 1).
    """
    super().__init__(name=name or "dropout")
    if not 0.0 <= rate < 1.0:
      raise ValueError(
          f"Dropout: rate must be in [0, 1), got {rate}; it is the fraction "
          "of inputs to drop, e.g. 0.2.")
    self.rate = float(rate)
    self.seed = seed

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Drops elements when `training` is True (a bool or a bool tensor)."""
    x = tf.convert_to_tensor(x)
    if self.rate == 0.0:
      return x
    if isinstance(training, bool):
      return self._drop(x) if training else x
    return tf.cond(tf.cast(training, tf.bool), lambda: self._drop(x),
                   lambda: tf.identity(x))

  def _drop(self, x: tf.Tensor) -> tf.Tensor:
    key = step_random.next_key()
    if key is None:  # outside a training step: TF's stateful generator
      return tf.nn.dropout(x, rate=self.rate, seed=self.seed)
    if self.seed is not None:
      key = tf.random.experimental.stateless_fold_in(key, self.seed)
    return tf.nn.experimental.stateless_dropout(x, rate=self.rate, seed=key)


class Lambda(Module):
  """Wraps a function tensor -> tensor as a module (no variables).

  Example:

    Lambda(lambda x: x * 100.0)
  """

  def __init__(self, fn: Callable[[tf.Tensor], tf.Tensor],
               name: str | None = None):
    """Creates the module.

    Args:
      fn: the function to apply.
      name: module name.

    Raises:
      TypeError: `fn` is not callable.
    """
    super().__init__(name=name or "lambda")
    if not callable(fn):
      raise TypeError(
          f"Lambda: fn must be callable tensor -> tensor, got {fn!r}.")
    self.fn = fn

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Returns `fn(x)`."""
    return self.fn(x)


class Scale(Module):
  """Multiplies the input by a constant: the course's `x * 100.0` Lambda.

  Example:

    Scale(100.0)(tf.constant([0.5]))  # [50.]
  """

  def __init__(self, factor: float, name: str | None = None):
    super().__init__(name=name or "scale")
    self.factor = float(factor)

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Returns `x * factor` in the input's dtype."""
    x = tf.convert_to_tensor(x)
    return x * tf.constant(self.factor, x.dtype)


class ExpandDims(Module):
  """Inserts a size-1 dim at `axis` (e.g. (batch, time) -> (batch, time, 1)).

  Example:

    ExpandDims(-1)(tf.zeros([4, 20]))  # shape (4, 20, 1)
  """

  def __init__(self, axis: int = -1, name: str | None = None):
    super().__init__(name=name or "expand_dims")
    self.axis = int(axis)

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Returns `tf.expand_dims(x, axis)`."""
    return tf.expand_dims(x, self.axis)
