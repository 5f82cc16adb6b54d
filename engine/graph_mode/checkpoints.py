"""Checking a `tf.compat.v1` checkpoint against a graph before restoring.

A Saver checkpoint maps variable names to values, so it restores only into a
freshly built *identical* graph. `check_checkpoint_matches` compares names and
shapes first and names the variable that differs, instead of TensorFlow's
long restore error.
"""

from __future__ import annotations

import os

import tensorflow as tf

from engine.errors import CheckpointMismatchError

v1 = tf.compat.v1


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
