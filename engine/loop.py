"""The compiled inner loop: `num_steps` training steps in ONE tf.function.

    loop(iterator, num_steps):          # one Python call, one graph run
      for _ in tf.range(num_steps):     # an in-graph while loop
        element = iterator.get_next_as_optional()
        if not element.has_value(): break   # the epoch's data ran out
        step_fn(element.get_value())
      return steps_run

The function is built once per step function and cached by the caller; a
new iterator with the same element spec and a new `num_steps` tensor reuse
the same trace.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def make_loop_fn(step_fn: Callable[[object], None]) -> Callable:
  """Wraps a cross-replica `step_fn(element)` into the compiled loop.

  Args:
    step_fn: runs one step on one element of the (distributed) iterator.

  Returns:
    A tf.function `loop(iterator, num_steps) -> int32 steps run`. It runs
    fewer than `num_steps` steps only when the iterator is exhausted.
  """

  @tf.function
  def loop(iterator, num_steps):
    if not isinstance(num_steps, tf.Tensor):
      raise ValueError(
          "num_steps must be a tensor (tf.constant(n)); a Python int would "
          f"retrace the loop for every new value, got {num_steps!r}")
    steps_run = tf.constant(0, tf.int32)
    for _ in tf.range(num_steps):
      element = iterator.get_next_as_optional()
      if not element.has_value():
        break
      step_fn(element.get_value())
      steps_run += 1
    return steps_run

  return loop
