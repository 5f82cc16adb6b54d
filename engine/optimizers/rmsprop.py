"""RMSprop: gradients scaled by a running root mean square."""

from __future__ import annotations

import tensorflow as tf

from engine.errors import EngineUserError
from engine.optimizers import fused
from engine.optimizers.base import Optimizer


class RMSprop(Optimizer):
  """Keras 3's RMSprop.

  `v = rho * v + (1 - rho) * g**2`; centered also keeps
  `a = rho * a + (1 - rho) * g` and uses `v - a**2`;
  `step = lr * g / sqrt(v [- a**2] + epsilon)` (epsilon inside the root, as
  Keras 3 does); with momentum `mom = momentum * mom + step` and
  `var -= mom`, else `var -= step`. Variables of 2**20 elements or more
  update in one XLA-fused pass (`engine.optimizers.fused`).

  Example:
    optimizer = RMSprop(learning_rate=1e-3)
  """

  def __init__(self, learning_rate=0.001, rho: float = 0.9,
               momentum: float = 0.0, epsilon: float = 1e-7,
               centered: bool = False, name: str | None = None,
               **clip_options):
    """Stores the hyperparameters.

    Args:
      learning_rate: Float, tf.Variable or schedule `callable(step)`.
      rho: Decay of the squared-gradient average, in [0, 1).
      momentum: In [0, 1]; 0 disables the momentum slot.
      epsilon: Small constant for numerical stability, >= 0.
      centered: Normalize by the gradient's estimated variance.
      name: Module name.
      **clip_options: `clipnorm`, `clipvalue` or `global_clipnorm`.

    Raises:
      EngineUserError: for a hyperparameter out of range.
    """
    super().__init__(learning_rate, name=name, **clip_options)
    if not 0.0 <= rho < 1.0 or not 0.0 <= momentum <= 1.0 or epsilon < 0:
      raise EngineUserError(
          f"{self.name}: need 0 <= rho < 1, 0 <= momentum <= 1 and "
          f"epsilon >= 0, got rho={rho}, momentum={momentum}, "
          f"epsilon={epsilon}.")
    self.rho = float(rho)
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)
    self.centered = bool(centered)

  def _create_slots(self, var_list):
    self.velocities = self._zeros_like_each(var_list, "velocity")
    if self.momentum:
      self.momentums = self._zeros_like_each(var_list, "momentum")
    if self.centered:
      self.average_gradients = self._zeros_like_each(
          var_list, "average_gradient")

  def _update_step(self, grad, var, index, learning_rate):
    slots = [self.velocities[index]]
    if self.centered:
      slots.append(self.average_gradients[index])
    if self.momentum:
      slots.append(self.momentums[index])
    return _RMSPROP_STEP(grad, var, *slots, learning_rate=learning_rate,
                         rho=self.rho, momentum=self.momentum,
                         epsilon=self.epsilon, centered=self.centered)


def _rmsprop_math(grad, var, velocity, *slots, learning_rate, rho: float,
                  momentum: float, epsilon: float, centered: bool):
  """Keras 3's RMSprop step on `var` and its slots (see `RMSprop`).

  `slots` are the average gradient (if centered), then the momentum (if
  momentum > 0). Python-float `rho` rounds like Keras's `1 - rho`.
  """
  v = velocity.assign(rho * velocity + (1 - rho) * tf.square(grad))
  epsilon = tf.cast(epsilon, var.dtype)
  if centered:
    average = slots[0]
    a = average.assign(rho * average + (1 - rho) * grad)
    denominator = v - tf.square(a) + epsilon
  else:
    denominator = v + epsilon
  increment = learning_rate * grad / tf.sqrt(denominator)
  if not momentum:
    return var.assign_sub(increment, read_value=False)
  momentum_slot = slots[-1]
  mom = momentum_slot.assign(tf.cast(momentum, var.dtype) * momentum_slot
                             + increment)
  return var.assign_sub(mom, read_value=False)


# One fused pass over a large variable and its slots (engine.optimizers.fused).
_RMSPROP_STEP = fused.FusedUpdate(_rmsprop_math)
