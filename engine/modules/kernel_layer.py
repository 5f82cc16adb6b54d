"""What Dense and the convolutions share: `activation(op(x, w) + b)`.

The kernel `w` and optional bias `b`, their initializers, the activation,
the L2 penalty on `w`, and the dtype rule live here once; subclasses give
the kernel's shape and the linear op.
"""

from __future__ import annotations

import tensorflow as tf

from engine import activations
from engine import initializers
from engine.module import Module


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


class KernelLayer(Module):
  """Base of layers computing `activation(op(x, w) + b)`.

  Subclasses call `_create_kernel(kernel_shape, bias_size, dtype)` from
  `_build` and `_finish(y)` on the linear op's result.
  """

  def __init__(self, activation, use_bias: bool, kernel_initializer,
               bias_initializer, kernel_l2: float, name: str,
               trainable: bool):
    super().__init__(name=name, trainable=trainable)
    self.activation = activations.get(activation)
    self.use_bias = use_bias
    self.kernel_initializer = initializers.get(kernel_initializer)
    self.bias_initializer = initializers.get(bias_initializer)
    self.kernel_l2 = check_kernel_l2(self.name, kernel_l2)
    self.dtype = None

  def _create_kernel(self, kernel_shape, bias_size: int,
                     dtype: tf.DType) -> None:
    """Creates `w` (and `b` when use_bias) in the input's dtype."""
    self.dtype = dtype
    self.w = tf.Variable(self.kernel_initializer(list(kernel_shape), dtype),
                         name="w")
    if self.use_bias:
      self.b = tf.Variable(self.bias_initializer([bias_size], dtype),
                           name="b")

  def _finish(self, y: tf.Tensor) -> tf.Tensor:
    """Adds the bias (if any) and applies the activation."""
    if self.use_bias:
      y = y + self.b
    return self.activation(y)

  def _own_losses(self) -> list[tf.Tensor]:
    if self.kernel_l2 > 0 and self.built:
      return [l2_penalty(self.kernel_l2, self.w)]
    return []
