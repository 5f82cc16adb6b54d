"""Random draws in training as functions of (seed, global step, replica).

Stateful random ops (`tf.nn.dropout`, `tf.random.uniform`) draw from a
generator that restarts from the seed in every process, so a resumed run
would draw other masks than the uninterrupted one did at the same step.
Inside `step_random(seed, step)` every draw takes a key derived from
(seed, global step, replica id, index of the draw in the traced step)
instead, so the masks are the same whenever that step runs:

    with step_random(seed, global_step):       # in the replica step
      y = model(x, training=True)              # Dropout calls next_key()

The context is thread-local: MirroredStrategy runs each replica's step in
its own thread.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

import tensorflow as tf

_local = threading.local()


class _Keys:
  """Hands out one key per draw: fold_in(step key, draw index).

  The step key is made at each draw, not once on entry: a step that draws
  nothing (a model without dropout) then carries none of its ops, and a
  draw inside a tf.cond branch never uses a tensor of another branch.
  """

  def __init__(self, make_key: Callable[[], tf.Tensor]):
    self._make_key = make_key
    self._count = 0

  def next(self) -> tf.Tensor:
    key = tf.random.experimental.stateless_fold_in(self._make_key(),
                                                   self._count)
    self._count += 1
    return key


def _replica_id():
  context = tf.distribute.get_replica_context()
  if context is None:
    return 0
  return context.replica_id_in_sync_group


def step_key(seed, step, replica=None) -> tf.Tensor:
  """The int64 [2] key of one replica's step.

  Args:
    seed: the run's seed (int or int tensor).
    step: the global step (int, tensor or variable).
    replica: replica id; default: the current replica's id in sync group.
  """
  replica = _replica_id() if replica is None else replica
  key = tf.stack([tf.cast(seed, tf.int64),
                  tf.cast(tf.convert_to_tensor(step), tf.int64)])
  return tf.random.experimental.stateless_fold_in(
      key, tf.cast(replica, tf.int64))


@contextlib.contextmanager
def step_random(seed, step, replica=None) -> Iterator[None]:
  """Makes `next_key()` return per-draw keys of (seed, step, replica)."""
  previous = getattr(_local, "keys", None)
  if replica is None:  # the replica of the context entered, not of a draw
    replica = _replica_id()
  _local.keys = _Keys(lambda: step_key(seed, step, replica))
  try:
    yield
  finally:
    _local.keys = previous


def next_key() -> tf.Tensor | None:
  """A fresh stateless key inside `step_random`, else None."""
  keys = getattr(_local, "keys", None)
  return None if keys is None else keys.next()
