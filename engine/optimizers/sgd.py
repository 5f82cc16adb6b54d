"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

import tensorflow as tf

from engine.errors import EngineUserError
from engine.optimizers.base import Optimizer


class SGD(Optimizer):
  """Keras 3's SGD.

  Without momentum: `var -= lr * g`. With momentum:
  `m = momentum * m - lr * g`, then `var += m`, or with Nesterov
  `var += momentum * m - lr * g` (using the new `m`).

  Example:
    optimizer = SGD(learning_rate=1e-6, momentum=0.9)
  """

  def __init__(self, learning_rate=0.01, momentum: float = 0.0,
               nesterov: bool = False, name: str | None = None, **clip_options):
    """Stores the hyperparameters.

    Args:
      learning_rate: Float, tf.Variable or schedule `callable(step)`.
      momentum: In [0, 1]; 0 disables the momentum slot.
      nesterov: Use Nesterov momentum.
      name: Module name.
      **clip_options: `clipnorm`, `clipvalue` or `global_clipnorm`.

    Raises:
      EngineUserError: if `momentum` is outside [0, 1].
    """
    super().__init__(learning_rate, name=name, **clip_options)
    if not 0.0 <= momentum <= 1.0:
      raise EngineUserError(
          f"{self.name}: momentum must be in [0, 1], got {momentum}.")
    self.momentum = float(momentum)
    self.nesterov = bool(nesterov)

  def _create_slots(self, var_list):
    if self.momentum:
      self.momentums = self._zeros_like_each(var_list, "momentum")

  def _update_step(self, grad, var, index, learning_rate):
    # TF's fused kernels, with Keras 3's formulas: m = momentum * m - lr * g;
    # var += m (nesterov: var += momentum * m - lr * g).
    if not self.momentum:
      return tf.raw_ops.ResourceApplyGradientDescent(
          var=var.handle, alpha=learning_rate, delta=grad)
    return tf.raw_ops.ResourceApplyKerasMomentum(
        var=var.handle, accum=self.momentums[index].handle, lr=learning_rate,
        grad=grad, momentum=tf.cast(self.momentum, var.dtype),
        use_nesterov=self.nesterov)
