"""A `tf.compat.v1.summary.FileWriter` for a graph, as a context manager.

The FileWriter writes the graph itself (TensorBoard's Graphs tab) when it is
created, and then each serialized `Summary` that a session run of
`merge_all()` returns (the Scalars tab). It refuses to be created while eager
execution is on, so it is created inside the graph's `as_default()` context.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import tensorflow as tf


class NullWriter:
  """Stands in for a FileWriter when no logdir is given: writes nothing."""

  def add_summary(self, summary: bytes | None, global_step: int) -> None:
    """Drops the summary."""

  def flush(self) -> None:
    """Nothing to flush."""


@contextlib.contextmanager
def file_writer(logdir: str | None,
                graph: tf.Graph) -> Iterator[tf.compat.v1.summary.FileWriter
                                             | NullWriter]:
  """Opens a FileWriter on `logdir` that has written `graph`; closes it after.

  Args:
    logdir: event file directory (created if missing); None writes nothing.
    graph: the graph to show in TensorBoard; build it completely first.

  Yields:
    The writer; call `writer.add_summary(summary_bytes, step)`.
  """
  if logdir is None:
    yield NullWriter()
    return
  with graph.as_default():
    writer = tf.compat.v1.summary.FileWriter(logdir, graph=graph)
  try:
    yield writer
  finally:
    writer.close()
