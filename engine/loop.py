"""The compiled inner loop: `num_steps` training steps in ONE tf.function.

    loop(iterator, num_steps[, begin]):  # one Python call, one graph run
      if begin: begin_fn()              # e.g. reset the metrics
      for _ in tf.range(num_steps):     # an in-graph while loop
        element = iterator.get_next_as_optional()
        if not element.has_value(): break   # the epoch's data ran out
        step_fn(element.get_value())
      return steps_run[, end_fn()]      # e.g. the metrics, read once

The function is built once per step function and cached by the caller; a
new iterator with the same element spec and a new `num_steps` tensor reuse
the same trace. Folding the metric reset and the metric read into the same
call saves two graph calls per loop call (the per-call fixed cost is what
dominates small models).
"""

from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf


def make_loop_fn(step_fn: Callable[[object], None],
                 begin_fn: Callable[[], None] | None = None,
                 end_fn: Callable[[], Any] | None = None) -> Callable:
  """Wraps a cross-replica `step_fn(element)` into the compiled loop.

  Args:
    step_fn: runs one step on one element of the (distributed) iterator.
    begin_fn: runs before the steps when the call's `begin` tensor is True.
    end_fn: runs after the steps; its tensors are returned with the count.

  Returns:
    A tf.function `loop(iterator, num_steps, begin=False)` returning the
    int32 steps run, or `(steps run, end_fn())` when `end_fn` is given. It
    runs fewer than `num_steps` steps only when the iterator is exhausted.
  """

  # Only the loop itself needs AutoGraph; converting every function the
  # step calls (modules, losses, optimizer) costs seconds per process.
  step_fn = tf.autograph.experimental.do_not_convert(step_fn)
  if begin_fn is not None:
    begin_fn = tf.autograph.experimental.do_not_convert(begin_fn)
  if end_fn is not None:
    end_fn = tf.autograph.experimental.do_not_convert(end_fn)

  @tf.function
  def loop(iterator, num_steps, begin=False):
    if not isinstance(num_steps, tf.Tensor):
      raise ValueError(
          "num_steps must be a tensor (tf.constant(n)); a Python int would "
          f"retrace the loop for every new value, got {num_steps!r}")
    if begin_fn is not None and isinstance(begin, tf.Tensor):
      if begin:  # an in-graph tf.cond
        begin_fn()
    steps_run = tf.constant(0, tf.int32)
    for _ in tf.range(num_steps):
      element = iterator.get_next_as_optional()
      if not element.has_value():
        break
      step_fn(element.get_value())
      steps_run += 1
    if end_fn is None:
      return steps_run
    return steps_run, end_fn()

  return loop

