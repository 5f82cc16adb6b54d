"""Dynamic loss scaling for float16 training, as Keras's LossScaleOptimizer.

float16 gradients below ~6e-8 flush to zero. Scaling the loss by S before
`tape.gradient` scales every gradient by S; dividing them by S afterwards
restores their value in float32. S adapts:

    grads = tape.gradient(loss_scale.scale(loss), variables)   # S * dL/dw
    loss_scale.apply(optimizer, grads, variables)
      # grads / S; all finite?  yes: apply; after 2,000 such steps S *= 2
      #                         no:  skip the step, S /= 2

The scale and the count of good steps are variables of this module; as an
attribute of the trainer's checkpoint they survive a resume.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from engine.errors import EngineUserError


def _unscaled(grad, inverse):
  if grad is None:
    return None
  if isinstance(grad, tf.IndexedSlices):
    return tf.IndexedSlices(grad.values * tf.cast(inverse, grad.values.dtype),
                            grad.indices, grad.dense_shape)
  return grad * tf.cast(inverse, grad.dtype)


def all_finite(grads) -> tf.Tensor:
  """A bool scalar: no gradient holds NaN or Inf (None ones are skipped)."""
  checks = [tf.reduce_all(tf.math.is_finite(
      g.values if isinstance(g, tf.IndexedSlices) else g))
            for g in grads if g is not None]
  return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


class DynamicLossScale(tf.Module):
  """The loss scale S and its update rule (Keras's defaults).

  Args:
    initial_scale: S at the start (Keras: 2**15).
    growth_steps: consecutive finite steps after which S doubles (2,000).
    multiplier: the factor S grows and shrinks by (2).
    min_scale: S never drops below it (1).

  Attributes:
    scale: float32 variable, the current S.
    good_steps: int64 variable, finite steps since S last changed.
  """

  def __init__(self, initial_scale: float = 2.0**15, growth_steps: int = 2000,
               multiplier: float = 2.0, min_scale: float = 1.0,
               name: str | None = None):
    super().__init__(name=name or "loss_scale")
    if initial_scale <= 0 or growth_steps < 1 or multiplier <= 1:
      raise EngineUserError(
          f"{self.name}: need initial_scale > 0, growth_steps >= 1 and "
          f"multiplier > 1, got {initial_scale}, {growth_steps}, "
          f"{multiplier}.")
    self.growth_steps, self.multiplier = int(growth_steps), float(multiplier)
    self.min_scale = float(min_scale)
    on_first = tf.VariableAggregation.ONLY_FIRST_REPLICA
    self.scale = tf.Variable(float(initial_scale), dtype=tf.float32,
                             trainable=False, name="scale",
                             aggregation=on_first)
    self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False,
                                  name="good_steps", aggregation=on_first)

  def scaled(self, loss: tf.Tensor) -> tf.Tensor:
    """`loss * S`, to differentiate instead of the loss."""
    return loss * tf.cast(self.scale, loss.dtype)

  def unscale(self, grads: Sequence) -> list:
    """Each gradient divided by S (in its own dtype)."""
    inverse = 1.0 / self.scale
    return [_unscaled(g, inverse) for g in grads]

  def update(self, finite: tf.Tensor) -> None:
    """Halves S after a non-finite step; doubles it after growth_steps
    finite ones."""
    grown = tf.logical_and(finite, self.good_steps + 1 >= self.growth_steps)
    new_scale = tf.where(
        finite,
        tf.where(grown, self.scale * self.multiplier, self.scale),
        tf.maximum(self.scale / self.multiplier, self.min_scale))
    new_good = tf.where(tf.logical_and(finite, tf.logical_not(grown)),
                        self.good_steps + 1, tf.zeros([], tf.int64))
    self.scale.assign(new_scale)
    self.good_steps.assign(new_good)

  def apply(self, optimizer, grads: Sequence, variables: Sequence
            ) -> tf.Tensor:
    """Unscales `grads`; applies them if all are finite, else skips the step.

    Returns:
      The bool `finite` of this step.

    Raises:
      EngineUserError: under more than one replica (the skip decision would
        need a cross-replica agreement this helper does not make).
    """
    replica = tf.distribute.get_replica_context()
    if replica is not None and replica.num_replicas_in_sync > 1:
      raise EngineUserError(
          "dynamic loss scaling (mixed_float16) runs on one replica only; "
          "use --mixed_precision=mixed_bfloat16 or one device.")
    grads = self.unscale(grads)
    finite = all_finite(grads)

    def apply_step():
      optimizer.apply(grads, variables)
      return tf.constant(True)

    tf.cond(finite, apply_step, lambda: tf.constant(False))
    self.update(finite)
    return finite


def loss_to_differentiate(loss: tf.Tensor,
                          loss_scale: DynamicLossScale | None) -> tf.Tensor:
  """The loss times S (call it inside the tape), or the loss itself."""
  return loss if loss_scale is None else loss_scale.scaled(loss)


def apply_gradients(optimizer, grads, variables,
                    loss_scale: DynamicLossScale | None) -> None:
  """`optimizer.apply`, through the loss scale's unscale/check/skip if any."""
  if loss_scale is None:
    optimizer.apply(grads, variables)
  else:
    loss_scale.apply(optimizer, grads, variables)
