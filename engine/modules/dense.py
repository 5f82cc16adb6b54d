"""Dense: a fully connected layer over the last axis, like Keras's."""

from __future__ import annotations

import tensorflow as tf

from engine.modules.kernel_layer import KernelLayer


class Dense(KernelLayer):
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
    if not isinstance(units, int) or units < 1:
      raise ValueError(f"Dense: units must be an int >= 1, got {units!r}.")
    super().__init__(activation, use_bias, kernel_initializer,
                     bias_initializer, kernel_l2, name or "dense", trainable)
    self.units = units

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
    self._create_kernel([in_size, self.units], self.units, x.dtype)

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Applies the layer; `training` is accepted and ignored."""
    x = self._input(x)
    self._build_once(x)
    return self._finish(tf.matmul(x, self._compute(self.w)))
