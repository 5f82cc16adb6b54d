"""Adam, with optional AMSGrad."""

from __future__ import annotations

import tensorflow as tf

from engine.errors import EngineUserError
from engine.optimizers import fused
from engine.optimizers.base import Optimizer


class Adam(Optimizer):
  """Keras 3's Adam.

  With `t = iterations + 1`:
  `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
  `m += (g - m) * (1 - beta_1)`, `v += (g**2 - v) * (1 - beta_2)`,
  AMSGrad: `v_hat = max(v_hat, v)` replaces `v`;
  `var -= alpha * m / (sqrt(v) + epsilon)`. Plain Adam runs TF's fused
  kernel; AMSGrad on variables of 2**20 elements or more runs one XLA-fused
  pass (`engine.optimizers.fused`).

  Example:
    optimizer = Adam(learning_rate=1e-3, amsgrad=True)
  """

  def __init__(self, learning_rate=0.001, beta_1: float = 0.9,
               beta_2: float = 0.999, epsilon: float = 1e-7,
               amsgrad: bool = False, name: str | None = None,
               **clip_options):
    """Stores the hyperparameters.

    Args:
      learning_rate: Float, tf.Variable or schedule `callable(step)`.
      beta_1: Decay of the first moment, in [0, 1).
      beta_2: Decay of the second moment, in [0, 1).
      epsilon: Small constant for numerical stability, >= 0.
      amsgrad: Use the maximum of past second moments.
      name: Module name.
      **clip_options: `clipnorm`, `clipvalue` or `global_clipnorm`.

    Raises:
      EngineUserError: for a hyperparameter out of range.
    """
    super().__init__(learning_rate, name=name, **clip_options)
    if not (0.0 <= beta_1 < 1.0 and 0.0 <= beta_2 < 1.0 and epsilon >= 0):
      raise EngineUserError(
          f"{self.name}: need 0 <= beta_1, beta_2 < 1 and epsilon >= 0, got "
          f"beta_1={beta_1}, beta_2={beta_2}, epsilon={epsilon}.")
    self.beta_1 = float(beta_1)
    self.beta_2 = float(beta_2)
    self.epsilon = float(epsilon)
    self.amsgrad = bool(amsgrad)

  def _create_slots(self, var_list):
    self.momentums = self._zeros_like_each(var_list, "m")
    self.velocities = self._zeros_like_each(var_list, "v")
    if self.amsgrad:
      self.velocity_hats = self._zeros_like_each(var_list, "v_hat")

  def _update_step(self, grad, var, index, learning_rate):
    dtype = var.dtype
    beta_1 = tf.cast(self.beta_1, dtype)
    beta_2 = tf.cast(self.beta_2, dtype)
    step = tf.cast(self.iterations + 1, dtype)
    m_var, v_var = self.momentums[index], self.velocities[index]
    if not self.amsgrad:
      # TF's fused kernel: one pass over var, m and v instead of ~10
      # elementwise ops; the same formula as Keras 3's Adam.
      return tf.raw_ops.ResourceApplyAdam(
          var=var.handle, m=m_var.handle, v=v_var.handle,
          beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
          lr=learning_rate, beta1=beta_1, beta2=beta_2,
          epsilon=tf.cast(self.epsilon, dtype), grad=grad)
    return _AMSGRAD_STEP(grad, var, m_var, v_var, self.velocity_hats[index],
                         learning_rate=learning_rate, step=step,
                         beta_1=self.beta_1, beta_2=self.beta_2,
                         epsilon=self.epsilon)


def _amsgrad_math(grad, var, m_var, v_var, v_hat, *, learning_rate, step,
                  beta_1: float, beta_2: float, epsilon: float):
  """Keras 3's Adam step with AMSGrad on `var` and its slots (see `Adam`).

  Python-float `(1 - beta)` rounds like Keras's, for bit-level agreement.
  """
  dtype = var.dtype
  m = m_var.assign_add((grad - m_var) * (1 - beta_1))
  v = v_var.assign_add((tf.square(grad) - v_var) * (1 - beta_2))
  v = v_hat.assign(tf.maximum(v_hat, v))
  alpha = (learning_rate * tf.sqrt(1 - tf.pow(tf.cast(beta_2, dtype), step))
           / (1 - tf.pow(tf.cast(beta_1, dtype), step)))
  return var.assign_sub(m * alpha / (tf.sqrt(v) + tf.cast(epsilon, dtype)),
                        read_value=False)


# One fused pass over a large variable and its slots (engine.optimizers.fused).
_AMSGRAD_STEP = fused.FusedUpdate(_amsgrad_math)
