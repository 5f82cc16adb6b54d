"""The two classic graph-mode mistakes, made on purpose to show their errors.

1. Fetching `y = x @ w` before running the variables' initializer.
2. Fetching it without feeding the placeholder `x`.

Both fail only when the session runs; `session_run.run` reports them as
one-line `EngineUserError`s that say what to do.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from engine.graph_mode import session_run
from engine.graph_mode.first_steps import FirstStepsGraph


def fetch_before_initializing(program: FirstStepsGraph,
                              features: np.ndarray) -> np.ndarray:
  """Fetches `program.y` in a fresh session without running `init`.

  Raises:
    session_run.UninitializedVariableError: always (that is the mistake).
  """
  with tf.compat.v1.Session(graph=program.graph) as session:
    return session_run.run(session, program.y, program.feed(features))


def fetch_without_feeding(program: FirstStepsGraph) -> np.ndarray:
  """Initializes the variables, then fetches `program.y` with no feed_dict.

  Raises:
    session_run.UnfedPlaceholderError: always (that is the mistake).
  """
  with tf.compat.v1.Session(graph=program.graph) as session:
    session_run.run(session, program.init)
    return session_run.run(session, program.y)


def classic_failure_messages(program: FirstStepsGraph,
                             features: np.ndarray) -> dict[str, str]:
  """Makes both mistakes and collects the one-line messages.

  Returns:
    {"uninitialized_variable": message, "unfed_placeholder": message}.
  """
  messages = {}
  try:
    fetch_before_initializing(program, features)
  except session_run.UninitializedVariableError as error:
    messages["uninitialized_variable"] = str(error)
  try:
    fetch_without_feeding(program)
  except session_run.UnfedPlaceholderError as error:
    messages["unfed_placeholder"] = str(error)
  return messages
