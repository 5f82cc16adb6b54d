"""Gradient clipping with Keras's semantics (clipnorm, clipvalue, global).

The optimizer clips after the cross-replica all-reduce, so every replica
clips the same summed gradient and N replicas equal one device.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf


def clip_by_norm_each(grads: Sequence[tf.Tensor],
                      clipnorm: float) -> list[tf.Tensor]:
  """Rescales each gradient on its own so that its L2 norm is <= clipnorm."""
  return [tf.clip_by_norm(g, tf.cast(clipnorm, g.dtype)) for g in grads]


def clip_by_value_each(grads: Sequence[tf.Tensor],
                       clipvalue: float) -> list[tf.Tensor]:
  """Clips every gradient element to [-clipvalue, clipvalue]."""
  return [tf.clip_by_value(g, -tf.cast(clipvalue, g.dtype),
                           tf.cast(clipvalue, g.dtype)) for g in grads]


def clip_by_global_norm(grads: Sequence[tf.Tensor],
                        global_clipnorm: float) -> list[tf.Tensor]:
  """Rescales all gradients together so their joint L2 norm is <= the limit.

  A non-finite global norm makes every gradient NaN (as in Keras), so the
  NaN guard sees the failure instead of a silently skipped step.
  """
  clipped, _ = tf.clip_by_global_norm(list(grads), global_clipnorm)
  return clipped


def validate_clip_options(clipnorm: float | None, clipvalue: float | None,
                          global_clipnorm: float | None) -> None:
  """Checks that at most one clip option is set and that it is positive.

  Raises:
    ValueError: naming the options that arrived.
  """
  options = {"clipnorm": clipnorm, "clipvalue": clipvalue,
             "global_clipnorm": global_clipnorm}
  given = {k: v for k, v in options.items() if v is not None}
  if len(given) > 1:
    raise ValueError(
        f"set at most one of clipnorm, clipvalue and global_clipnorm, got "
        f"{given}.")
  for key, value in given.items():
    if value <= 0:
      raise ValueError(f"{key} must be > 0, got {value}; leave it None to "
                       "train without clipping.")


def clip_gradients(grads: Sequence[tf.Tensor], clipnorm: float | None = None,
                   clipvalue: float | None = None,
                   global_clipnorm: float | None = None) -> list[tf.Tensor]:
  """Applies the one clip option that is set (none: gradients unchanged).

  Args:
    grads: Dense gradient tensors (no None entries).
    clipnorm: Per-gradient L2-norm limit.
    clipvalue: Per-element absolute-value limit.
    global_clipnorm: Limit on the joint L2 norm of all gradients.

  Returns:
    The clipped gradients, in order.

  Raises:
    ValueError: if more than one option is set or one is not positive.
  """
  validate_clip_options(clipnorm, clipvalue, global_clipnorm)
  if clipnorm is not None:
    return clip_by_norm_each(grads, clipnorm)
  if global_clipnorm is not None:
    return clip_by_global_norm(grads, global_clipnorm)
  if clipvalue is not None:
    return clip_by_value_each(grads, clipvalue)
  return list(grads)
