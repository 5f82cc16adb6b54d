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



def make_epochs_fn(step_fn: Callable[[object], None],
                   eval_step_fn: Callable[[object], None],
                   reset_fn: Callable[[], None],
                   train_read_fn: Callable[[], dict],
                   eval_read_fn: Callable[[], dict],
                   next_epoch_fn: Callable[[], None]) -> Callable:
  """Whole epochs, each with its validation, in ONE tf.function.

      epochs(train_iterator, num_epochs, steps_per_epoch[, eval_iterator,
             eval_batches]):
        for e in tf.range(num_epochs):
          reset_fn(); steps_per_epoch x step_fn(next(train_iterator))
          train[e] = train_read_fn()
          if train[e]["loss"] is NaN/Inf: break   # as after a loop call
          reset_fn(); eval_batches x eval_step_fn(next(eval_iterator))
          val[e] = eval_read_fn()
          next_epoch_fn()                          # the epoch counters
        return epochs run, {name: [epochs run]}, {name: [epochs run]}

  The body is what one epoch per `make_loop_fn` call followed by a
  validation call computes, op for op, so the results are the same; only
  the Python work between the epochs is gone. The iterators must yield
  exactly `steps_per_epoch` batches per epoch (chained or repeated data) and
  `eval_batches` per validation pass (a repeated validation set).

  Returns:
    A tf.function; every count is an int32 tensor (never a Python int, which
    would retrace). Without `eval_iterator` the validation part is left out
    and the validation logs come back empty.
  """

  # As in make_loop_fn: only the loop over epochs and steps is converted.
  plain = tf.autograph.experimental.do_not_convert
  step_fn, eval_step_fn = plain(step_fn), plain(eval_step_fn)
  reset_fn, next_epoch_fn = plain(reset_fn), plain(next_epoch_fn)
  train_read_fn, eval_read_fn = plain(train_read_fn), plain(eval_read_fn)

  @tf.function
  def epochs(train_iterator, num_epochs, steps_per_epoch, eval_iterator=None,
             eval_batches=None):
    for count in (num_epochs, steps_per_epoch):
      if not isinstance(count, tf.Tensor):
        raise ValueError(f"epoch and step counts must be tensors, got "
                         f"{count!r}")
    validating = eval_iterator is not None
    train_logs = _arrays(train_read_fn())
    val_logs = _arrays(eval_read_fn()) if validating else {}
    epochs_run = tf.constant(0, tf.int32)
    for epoch in tf.range(num_epochs):
      reset_fn()
      for _ in tf.range(steps_per_epoch):
        step_fn(next(train_iterator))
      values = train_read_fn()
      train_logs = _written(train_logs, epoch, values)
      epochs_run += 1
      if not tf.math.is_finite(values["loss"]):
        break
      if validating:
        reset_fn()
        for _ in tf.range(eval_batches):
          eval_step_fn(next(eval_iterator))
        val_logs = _written(val_logs, epoch, eval_read_fn())
      next_epoch_fn()
    return (epochs_run, {k: a.stack() for k, a in train_logs.items()},
            {k: a.stack() for k, a in val_logs.items()})

  return epochs


def _arrays(like: dict) -> dict:
  """An empty growable TensorArray per scalar of `like`."""
  return {k: tf.TensorArray(v.dtype, size=0, dynamic_size=True,
                            element_shape=[]) for k, v in like.items()}


def _written(arrays: dict, index, values: dict) -> dict:
  return {k: arrays[k].write(index, values[k]) for k in arrays}
