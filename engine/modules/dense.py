"""Dense: a fully connected layer over the last axis, like Keras's."""

from __future__ import annotations

import tensorflow as tf

from engine import activations
from engine import initializers
from engine.module import Module
from engine.modules.basic import float_input


def l2_penalty(kernel_l2: float, w: tf.Variable) -> tf.Tensor:
  """Keras's L2 regularizer value: `kernel_l2 * sum(w ** 2)`."""
  return tf.cast(kernel_l2, w.dtype) * tf.reduce_sum(tf.square(w))


def check_kernel_l2(owner: str, kernel_l2: float) -> float:
  """Returns `kernel_l2` as a float, or raises ValueError if negative."""
  if kernel_l2 < 0:
    raise ValueError(
        f"{owner}: kernel_l2 must be >= 0, got {kernel_l2}; use 0.0 for no "
        "regularization.")
  return float(kernel_l2)


class Dense(Module):
  """`activation(x @ w + b)` over the last axis of an input of rank >= 2.

  Variables `w` (in, units) and `b` (units,) are created on the first call
  from the input's last dim; their dtype is the input's floating dtype.

  Example:

    layer = Dense(10, activation="softmax")
    probs = layer(tf.zeros([32, 128]))  # shape (32, 10)
  """

  def __init__(self, units: int, activation=None, use_bias: bool = True,
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_l2: float = 0.0, name: str | None = None,
               trainable: bool = True):
    """Creates the layer (variables come on the first call).

    Args:
      units: output size, >= 1.
      activation: name, callable or None (see `engine.activations`).
      use_bias: whether to add the bias `b`.
      kernel_initializer: name or callable for `w` (Keras's default).
      bias_initializer: name or callable for `b`.
      kernel_l2: L2 factor; > 0 adds `kernel_l2 * sum(w**2)` to the
        regularization losses.
      name: module name (default "dense").
      trainable: False freezes `w` and `b`.

    Raises:
      ValueError: a bad `units`, `kernel_l2`, activation or initializer name.
    """
    super().__init__(name=name or "dense", trainable=trainable)
    if not isinstance(units, int) or units < 1:
      raise ValueError(f"Dense: units must be an int >= 1, got {units!r}.")
    self.units = units
    self.activation = activations.get(activation)
    self.use_bias = use_bias
    self.kernel_initializer = initializers.get(kernel_initializer)
    self.bias_initializer = initializers.get(bias_initializer)
    self.kernel_l2 = check_kernel_l2(self.name, kernel_l2)
    self.dtype = None

  def _build(self, x: tf.Tensor) -> None:
    if x.shape.rank is None or x.shape.rank < 2:
      raise ValueError(
          f"{self.name}: expects inputs of rank >= 2 (batch, ..., features), "
          f"got shape {x.shape}; add a batch dim or ExpandDims(-1).")
    in_size = x.shape[-1]
    if in_size is None:
      raise ValueError(
          f"{self.name}: the last input dim must be known at build time, got "
          f"shape {x.shape}.")
    self.dtype = x.dtype
    self.w = tf.Variable(
        self.kernel_initializer([in_size, self.units], x.dtype), name="w")
    if self.use_bias:
      self.b = tf.Variable(self.bias_initializer([self.units], x.dtype),
                           name="b")

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Applies the layer; `training` is accepted and ignored."""
    x = float_input(x, self.dtype, self.name)
    self._build_once(x)
    y = tf.matmul(x, self.w)
    if self.use_bias:
      y = y + self.b
    return self.activation(y)

  def _own_losses(self) -> list[tf.Tensor]:
    if self.kernel_l2 > 0 and self.built:
      return [l2_penalty(self.kernel_l2, self.w)]
    return []
