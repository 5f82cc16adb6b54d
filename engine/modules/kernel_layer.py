"""What Dense and the convolutions share: `activation(op(x, w) + b)`.

The kernel `w` and optional bias `b`, their initializers, the activation,
the L2 penalty on `w`, and the dtype rule live here once; subclasses give
the kernel's shape and the linear op.
"""

from __future__ import annotations

import tensorflow as tf

from engine import activations
from engine import initializers
from engine import mixed_precision
from engine.module import Module
from engine.modules.basic import float_input

# Their outputs are probabilities: computed in float32 under mixed precision.
_FLOAT32_ACTIVATIONS = tuple(activations.get(n) for n in ("softmax", "sigmoid"))


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
    """Creates `w` (and `b` when use_bias) in the input's dtype.

    Under a mixed policy the variables are float32 and `dtype` (the compute
    dtype) is what the inputs are cast to.
    """
    self.dtype = dtype
    if self.compute_dtype is not None:
      dtype = self._policy.variable_dtype
    self.w = tf.Variable(self.kernel_initializer(list(kernel_shape), dtype),
                         name="w")
    if self.use_bias:
      self.b = tf.Variable(self.bias_initializer([bias_size], dtype),
                           name="b")

  def _input(self, x) -> tf.Tensor:
    """The input as a floating tensor in the compute dtype."""
    if self.compute_dtype is not None:
      x = tf.convert_to_tensor(x)
      x = tf.cast(x, self.compute_dtype)
    return float_input(x, self.dtype, self.name)

  def _compute(self, variable: tf.Variable) -> tf.Tensor:
    """A variable as used in the math: cast to the compute dtype."""
    if self.compute_dtype is None:
      return variable
    return tf.cast(variable, self.compute_dtype)

  def _finish(self, y: tf.Tensor) -> tf.Tensor:
    """Adds the bias (if any) and applies the activation."""
    if self.use_bias:
      y = y + self._compute(self.b)
    if (self.compute_dtype is not None
        and self.activation in _FLOAT32_ACTIVATIONS):
      y = mixed_precision.cast_floating(y, tf.float32)
    return self.activation(y)

  def _own_losses(self) -> list[tf.Tensor]:
    if self.kernel_l2 > 0 and self.built:
      return [l2_penalty(self.kernel_l2, self.w)]
    return []
