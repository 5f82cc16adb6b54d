"""The graph/Session runtime of engine/graph_mode on tiny own graphs."""

from __future__ import annotations

import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from engine import graph_mode
from engine.errors import CheckpointMismatchError

v1 = tf.compat.v1


def small_graph():
  """x (placeholder, [None, 2]) @ w (variable, [2, 1]) in an own graph."""
  graph = tf.Graph()
  with graph.as_default():
    x = v1.placeholder(tf.float32, (None, 2), name="x")
    w = v1.get_variable("w", (2, 1), initializer=v1.ones_initializer())
    y = tf.matmul(x, w, name="y")
    init = v1.global_variables_initializer()
  return graph, x, w, y, init


def test_run_computes_with_a_feed():
  graph, x, _, y, init = small_graph()
  with v1.Session(graph=graph) as session:
    graph_mode.run(session, init)
    assert graph_mode.run(session, y, {x: [[1.0, 2.0]]}).tolist() == [[3.0]]


def test_run_names_an_uninitialized_variable():
  graph, x, _, y, _ = small_graph()
  with v1.Session(graph=graph) as session:
    with pytest.raises(graph_mode.UninitializedVariableError,
                       match="variable 'w' is read before"):
      graph_mode.run(session, y, {x: [[1.0, 2.0]]})


def test_run_names_an_unfed_placeholder_and_its_shape():
  graph, _, _, y, init = small_graph()
  with v1.Session(graph=graph) as session:
    graph_mode.run(session, init)
    with pytest.raises(graph_mode.UnfedPlaceholderError,
                       match=r"placeholder 'x' .*shape \(None, 2\)"):
      graph_mode.run(session, y)


def test_other_session_errors_pass_through():
  graph = tf.Graph()
  with graph.as_default():
    one = v1.placeholder_with_default(1, shape=())
    bad = tf.debugging.assert_equal(one, 2)
  with v1.Session(graph=graph) as session:
    with pytest.raises(tf.errors.InvalidArgumentError):
      graph_mode.run(session, bad)


def test_inspection_lists_ops_outputs_and_copies():
  graph = tf.Graph()
  with graph.as_default():
    for _ in range(3):
      tf.constant(1.0, name="c")
  assert graph_mode.operation_names(graph) == ["c", "c_1", "c_2"]
  assert graph_mode.copies_of(graph, "c") == ["c", "c_1", "c_2"]
  assert graph_mode.output_tensor_names(graph, "c_1") == ["c_1:0"]
  with pytest.raises(KeyError, match="ops with that base name"):
    graph_mode.output_tensor_names(graph, "c_9")


def test_file_writer_writes_the_graph_and_null_writer_nothing(tmp_path):
  graph, *_ = small_graph()
  with graph_mode.file_writer(str(tmp_path), graph) as writer:
    writer.flush()
  events = event_accumulator.EventAccumulator(str(tmp_path))
  events.Reload()
  assert {"x", "w", "y"} <= {node.name for node in events.Graph().node}
  with graph_mode.file_writer(None, graph) as writer:
    assert isinstance(writer, graph_mode.NullWriter)


def test_checkpoint_check_names_the_missing_variable(tmp_path):
  graph, *_ , init = small_graph()
  with graph.as_default():
    saver = v1.train.Saver()
  with v1.Session(graph=graph) as session:
    graph_mode.run(session, init)
    path = saver.save(session, str(tmp_path / "model.ckpt"), global_step=1)
  graph_mode.check_checkpoint_matches(graph, path)
  with graph.as_default():
    v1.get_variable("bias", shape=(1,))
  with pytest.raises(CheckpointMismatchError, match=r"variable 'bias'"):
    graph_mode.check_checkpoint_matches(graph, path)
