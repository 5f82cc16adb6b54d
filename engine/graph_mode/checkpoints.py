"""Saving and restoring the graph-mode regression with a `tf.compat.v1` Saver.

`Saver.save(session, prefix, global_step=s)` writes `prefix-s.index` and
`prefix-s.data-*` and rotates: only the newest `max_to_keep` checkpoints stay
on disk, listed oldest first in `saver.last_checkpoints`. A checkpoint maps
variable names to values, so it restores into a *freshly built identical*
graph; `check_checkpoint_matches` compares names and shapes first and names
the variable that differs, instead of TensorFlow's long restore error.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from engine.errors import CheckpointMismatchError
from engine.errors import EngineUserError
from engine.graph_mode import linear_regression
from engine.graph_mode import session_run
from engine.graph_mode import summary_writing
from engine.graph_mode.regression_data import RegressionData
from engine.graph_mode.results import LossLog
from engine.graph_mode.results import RegressionResult

v1 = tf.compat.v1
CHECKPOINT_PREFIX = "model.ckpt"


@dataclasses.dataclass(frozen=True)
class CheckpointedRun:
  """A training run and the checkpoints its Saver kept (oldest first)."""
  result: RegressionResult
  last_checkpoints: list[str]


def fit_with_checkpoints(data: RegressionData, checkpoint_dir: str,
                         num_steps: int = 300, learning_rate: float = 0.1,
                         checkpoint_every: int = 50, max_to_keep: int = 5,
                         logdir: str | None = None, log_every: int = 50,
                         on_log: Callable[[LossLog], None] | None = None
                         ) -> CheckpointedRun:
  """Trains the regression graph and checkpoints it every few steps.

  Args:
    data: the full batch.
    checkpoint_dir: where `model.ckpt-<step>` files go (created if missing).
    num_steps: updates to run (>= 1).
    learning_rate: the optimizer's step size (> 0).
    checkpoint_every: save when the global step is divisible by this; the
      last step is always saved.
    max_to_keep: how many of the newest checkpoints the Saver keeps.
    logdir: if set, the graph and scalar summaries are written there.
    log_every: see `linear_regression.train_steps`.
    on_log: see `linear_regression.train_steps`.

  Returns:
    The result and the paths of the kept checkpoints, oldest first.

  Raises:
    EngineUserError: checkpoint_every or max_to_keep < 1.
  """
  if checkpoint_every < 1 or max_to_keep < 1:
    raise EngineUserError(
        f"need checkpoint_every >= 1 and max_to_keep >= 1, got "
        f"{checkpoint_every} and {max_to_keep}.")
  model = linear_regression.build_linear_regression(data.num_features,
                                                    learning_rate)
  with model.graph.as_default():
    saver = v1.train.Saver(max_to_keep=max_to_keep)
  prefix = os.path.join(checkpoint_dir, CHECKPOINT_PREFIX)
  with summary_writing.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    session_run.run(session, model.init)
    last_step = int(session_run.run(session, model.global_step)) + num_steps

    def save(step: int) -> None:
      if step % checkpoint_every == 0 or step == last_step:
        saver.save(session, prefix, global_step=step)

    history = linear_regression.train_steps(
        session, model, data, num_steps, writer=writer, log_every=log_every,
        on_log=on_log, after_step=save)
    weights = session_run.run(session, model.weights)
  result = RegressionResult(np.asarray(weights), history, last_step)
  return CheckpointedRun(result, list(saver.last_checkpoints))


def restore_and_continue(data: RegressionData, checkpoint_path: str,
                         num_steps: int, learning_rate: float = 0.1,
                         logdir: str | None = None, log_every: int = 50,
                         on_log: Callable[[LossLog], None] | None = None
                         ) -> RegressionResult:
  """Builds a fresh regression graph, restores a checkpoint, trains on.

  The global step comes back with the weights, so training continues from
  the checkpoint's step; no initializer runs.

  Args:
    data: the full batch; its width decides the graph's num_features.
    checkpoint_path: one checkpoint, e.g. `run.last_checkpoints[0]`.
    num_steps: further updates to run (>= 1).
    learning_rate: the optimizer's step size (> 0).
    logdir: if set, the graph and scalar summaries are written there.
    log_every: see `linear_regression.train_steps`.
    on_log: see `linear_regression.train_steps`.

  Returns:
    The result of the continued run; its history starts at the restored step.

  Raises:
    CheckpointMismatchError: the checkpoint is missing or does not fit the
      graph (names the variable).
  """
  model = linear_regression.build_linear_regression(data.num_features,
                                                    learning_rate)
  check_checkpoint_matches(model.graph, checkpoint_path)
  with model.graph.as_default():
    saver = v1.train.Saver()
  with summary_writing.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    saver.restore(session, checkpoint_path)
    history = linear_regression.train_steps(
        session, model, data, num_steps, writer=writer, log_every=log_every,
        on_log=on_log)
    weights, step = session_run.run(session,
                                    [model.weights, model.global_step])
  return RegressionResult(np.asarray(weights), history, int(step))


def check_checkpoint_matches(graph: tf.Graph, checkpoint_path: str) -> None:
  """Checks that every global variable of `graph` is in the checkpoint.

  Args:
    graph: the graph to restore into.
    checkpoint_path: a checkpoint prefix such as `.../model.ckpt-50`.

  Raises:
    CheckpointMismatchError: the checkpoint cannot be read, lacks one of the
      graph's variables, or stores it with another shape.
  """
  stored = _stored_shapes(checkpoint_path)
  held = ", ".join(f"{name} {shape}" for name, shape in sorted(stored.items()))
  for variable in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES):
    name, shape = variable.op.name, variable.shape.as_list()
    if name not in stored:
      raise CheckpointMismatchError(
          f"variable '{name}' (shape {shape}) of the graph is not in "
          f"checkpoint '{checkpoint_path}', which holds: {held}; build the "
          "same graph as the run that saved it, or restore a subset with "
          "Saver(var_list=...).")
    if stored[name] != shape:
      raise CheckpointMismatchError(
          f"variable '{name}' has shape {shape} in the graph but "
          f"{stored[name]} in checkpoint '{checkpoint_path}'; build the graph "
          "with the same sizes (e.g. num_features) as the run that saved it.")


def _stored_shapes(checkpoint_path: str) -> dict[str, list[int]]:
  """Variable name -> shape of a checkpoint, or a one-line error."""
  try:
    return {name: list(shape)
            for name, shape in tf.train.list_variables(checkpoint_path)}
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError):
    directory = os.path.dirname(checkpoint_path) or "."
    state = tf.train.get_checkpoint_state(directory)
    kept = list(state.all_model_checkpoint_paths) if state else []
    raise CheckpointMismatchError(
        f"no readable checkpoint at '{checkpoint_path}'; checkpoints in "
        f"'{directory}': {kept or 'none'}.") from None
