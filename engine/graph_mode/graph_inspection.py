"""Listing what a `tf.Graph` holds: operations and their output tensors.

Every op in a graph has a unique name. Building the same code again in the
same graph does not replace anything: TensorFlow appends `_1`, `_2`, ... to
the new ops' names (`x`, `x_1`, `x_2`), which is how a notebook cell run three
times leaves three copies of its ops behind.
"""

from __future__ import annotations

import re

import tensorflow as tf


def operation_names(graph: tf.Graph) -> list[str]:
  """Names of all operations in `graph`, in creation order."""
  return [op.name for op in graph.get_operations()]


def output_tensor_names(graph: tf.Graph, op_name: str) -> list[str]:
  """Names of the output tensors of the op called `op_name` (`'x:0'`, ...).

  Raises:
    KeyError: `graph` has no op of that name (the message lists the nearest
      names, those that share its base).
  """
  try:
    op = graph.get_operation_by_name(op_name)
  except KeyError:
    near = copies_of(graph, op_name.rsplit("_", 1)[0])
    raise KeyError(
        f"the graph has no operation named '{op_name}'; ops with that base "
        f"name: {near or 'none'}. List them all with operation_names(graph)."
    ) from None
  return [tensor.name for tensor in op.outputs]


def copies_of(graph: tf.Graph, base_name: str) -> list[str]:
  """`base_name` and its re-run copies `base_name_1`, `base_name_2`, ..."""
  pattern = re.compile(re.escape(base_name) + r"(_\d+)?")
  return [name for name in operation_names(graph) if pattern.fullmatch(name)]
