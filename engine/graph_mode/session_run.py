"""`Session.run` with the two classic graph-mode failures as one-line errors.

In a `tf.compat.v1` graph, a fetch fails at run time, not at build time, when
it reads a variable that no initializer has run for, or when it needs a
placeholder that `feed_dict` leaves out. TensorFlow reports both as long
multi-line errors with a build-time traceback; `run` turns them into
`UninitializedVariableError` and `UnfedPlaceholderError`, whose message names
the variable or placeholder and says what to do.
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf

from engine.errors import EngineUserError

_VARIABLE_OP_TYPES = ("VarHandleOp", "VariableV2", "Variable")
_MISSING_VARIABLE = re.compile(
    r"(?:Could not find variable|uninitialized value) ([^\s.]+)")


class UninitializedVariableError(EngineUserError):
  """A fetch read a variable before the session initialized it."""


class UnfedPlaceholderError(EngineUserError):
  """A fetch needed a placeholder that `feed_dict` did not feed."""


def run(session: tf.compat.v1.Session, fetches: Any,
        feed_dict: dict | None = None) -> Any:
  """Runs `session.run(fetches, feed_dict)` with readable user errors.

  Args:
    session: a `tf.compat.v1.Session` (or `InteractiveSession`).
    fetches: anything `Session.run` accepts: tensors, operations, nests.
    feed_dict: placeholder (or tensor) -> value.

  Returns:
    What `session.run` returns: NumPy values in the structure of `fetches`.

  Raises:
    UninitializedVariableError: a fetch read an uninitialized variable.
    UnfedPlaceholderError: a fetch needed a placeholder that was not fed.
  """
  try:
    return session.run(fetches, feed_dict=feed_dict)
  except tf.errors.FailedPreconditionError as error:
    name = _uninitialized_variable_name(error)
    if name is None:
      raise
    raise UninitializedVariableError(
        f"variable '{name}' is read before it was initialized in this "
        "session: run session.run(tf.compat.v1.global_variables_initializer())"
        " (or restore a checkpoint) once, before fetching values that read "
        "it.") from None
  except tf.errors.InvalidArgumentError as error:
    placeholder = _unfed_placeholder(error)
    if placeholder is None:
      raise
    raise UnfedPlaceholderError(
        f"placeholder '{placeholder.op.name}' (dtype "
        f"{placeholder.dtype.name}, shape {_shape_text(placeholder.shape)}) "
        "was not fed: pass feed_dict={<that placeholder>: <array of shape "
        f"{_shape_text(placeholder.shape)}>}} to session.run.") from None


def _uninitialized_variable_name(
    error: tf.errors.FailedPreconditionError) -> str | None:
  """The name of the variable the failing op read, or None if unrelated."""
  op = error.op
  if op is not None:
    for tensor in op.inputs:
      if tensor.op.type in _VARIABLE_OP_TYPES:
        return tensor.op.name
  match = _MISSING_VARIABLE.search(error.message)
  return match.group(1) if match else None


def _unfed_placeholder(error: tf.errors.InvalidArgumentError):
  """The placeholder's output tensor that was not fed, or None."""
  op = error.op
  if (op is None or not op.type.startswith("Placeholder")
      or "must feed a value" not in error.message):
    return None
  return op.outputs[0]


def _shape_text(shape: tf.TensorShape) -> str:
  """(None, 10) for a placeholder of shape [?, 10]; 'unknown' if unranked."""
  if shape.rank is None:
    return "unknown"
  return str(tuple(shape.as_list()))
