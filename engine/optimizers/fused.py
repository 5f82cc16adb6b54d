"""One XLA-compiled pass per update for large variables.

An optimizer's update written as TF ops (`v = rho * v + (1 - rho) * g**2`,
`var -= lr * g / sqrt(v + eps)`) runs each op as its own pass over the
variable, with a fresh temporary per op. For the course's transfer head
(a 37,632 x 1,024 Dense kernel, 38.5M floats) those passes cost far more
than the matmuls of the step. XLA fuses the same ops into one loop that
reads the gradient and slots once and writes the variable and slots once,
with the same formula (so Keras parity holds within float32 rounding).

Compiling costs about 0.1-0.4 s per variable shape, more than the passes it
saves on small variables, so only variables of at least
`FUSE_MIN_ELEMENTS` take the fused path; the others run the same function
op by op.

Example:
  def _sgd_math(grad, var, *, learning_rate):
    return var.assign_sub(learning_rate * grad, read_value=False)

  sgd_step = FusedUpdate(_sgd_math)
  sgd_step(grad, var, learning_rate=lr)
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

# 2**20 floats (4 MiB in float32): below it an update's passes cost less
# than compiling them.
FUSE_MIN_ELEMENTS = 1 << 20


def is_large(var: tf.Variable) -> bool:
  """True when `var` has a static size of at least FUSE_MIN_ELEMENTS."""
  size = var.shape.num_elements()
  return size is not None and size >= FUSE_MIN_ELEMENTS


class FusedUpdate:
  """An update function, XLA-compiled for large variables.

  Args:
    math: `math(grad, var, *slots, learning_rate=..., **hyperparameters)`
      assigns `var` and its slot variables and returns the last assign
      (an op in graph mode, None eagerly). Variables
      are arguments (not captured), so one compiled program serves every
      variable of the same shape; Python-float hyperparameters are part of
      the compiled program's key.
  """

  def __init__(self, math: Callable):
    self._math = math
    self.compiled = tf.function(_with_token(math), jit_compile=True,
                                autograph=False)

  def __call__(self, grad: tf.Tensor, var: tf.Variable, *slots: tf.Variable,
               **kwargs):
    """Runs the update; returns what graph mode must run (None eagerly).

    In a v1 graph the update runs only when the returned tensor is
    fetched; inside `tf.function` it always runs.
    """
    if is_large(var):
      token = self.compiled(grad, var, *slots, **kwargs)
      return None if tf.executing_eagerly() else token
    return self._math(grad, var, *slots, **kwargs)


def _with_token(math: Callable) -> Callable[..., tf.Tensor]:
  """`math` returning a scalar: a v1 graph runs a function call only when
  one of its outputs is fetched, and a call without outputs has none."""

  def run(*args, **kwargs) -> tf.Tensor:
    math(*args, **kwargs)
    return tf.constant(True)

  run.__name__ = getattr(math, "__name__", "update")
  return run
