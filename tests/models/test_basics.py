"""The basics programs of models/basics.py: tf.compat.v1 graphs next to TF2."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from engine import graph_mode
from engine.errors import CheckpointMismatchError
from engine.errors import EngineUserError
from models import basics
from tests import testing

v1 = tf.compat.v1


@pytest.fixture(scope="module")
def program():
  return basics.build_first_steps(seed=3)


@pytest.fixture(scope="module")
def features():
  return np.random.RandomState(1).rand(4, 10).astype(np.float32)


@pytest.fixture(scope="module")
def small_data():
  return basics.make_regression_data(num_examples=64, num_features=3,
                                         seed=5)


def numpy_gradient_descent(data, num_steps, learning_rate):
  """Full-batch GD on the MSE in float64: w -= lr * 2/N X^T (Xw - y)."""
  x = data.features.astype(np.float64)
  y = data.targets.astype(np.float64)
  w = np.zeros((x.shape[1], 1))
  for _ in range(num_steps):
    w -= learning_rate * 2.0 / len(x) * x.T @ (x @ w - y)
  return w


def load_events(logdir):
  accumulator = event_accumulator.EventAccumulator(
      logdir, size_guidance={event_accumulator.TENSORS: 0,
                             event_accumulator.SCALARS: 0})
  accumulator.Reload()
  return accumulator


# -- first steps -----------------------------------------------------------

def test_first_steps_builds_the_course_tensors(program):
  assert program.x.op.type == "Placeholder"
  assert program.x.dtype == tf.float32
  assert program.x.shape.as_list() == [None, 10]
  assert program.w.name == "w:0" and program.v.name == "v:0"
  assert program.y.op.type == "MatMul"
  assert program.graph is not v1.get_default_graph()
  names = [v.op.name for v in program.graph.get_collection(
      v1.GraphKeys.GLOBAL_VARIABLES)]
  assert names == ["w", "v"]


def test_session_run_with_feed_dict_computes_x_matmul_w(program, features):
  values = basics.run_in_session(program, features)
  testing.assert_allclose(values["y"], features @ values["w"])
  testing.assert_allclose(values["z"], features @ values["v"] + [0.0, 1.0])
  testing.assert_allclose(values["c"], [0.0, 1.0])


def test_interactive_session_matches_session_and_eager_comes_back(
    program, features):
  in_session = basics.run_in_session(program, features)
  interactive = basics.run_interactively(program, features)
  testing.assert_allclose(interactive["y"], in_session["y"])
  assert tf.executing_eagerly()
  assert v1.get_default_session() is None
  assert float(tf.constant(2.0) * 3.0) == 6.0


def test_default_graph_versus_own_graph_and_reset():
  report = basics.compare_default_and_own_graph()
  assert "x" in report.default_ops_after_build
  assert report.own_ops == report.default_ops_after_build
  assert report.default_ops_after_own_build == len(report.own_ops)
  assert report.default_ops_after_reset == 0
  assert report.reset_gave_new_graph
  assert tf.executing_eagerly()


def test_rebuilding_adds_numbered_copies_but_get_variable_reuses():
  graph = basics.build_repeatedly(3)
  assert graph_mode.copies_of(graph, "x") == ["x", "x_1", "x_2"]
  assert graph_mode.copies_of(graph, "v") == ["v", "v_1", "v_2"]
  assert graph_mode.copies_of(graph, "c") == ["c", "c_1", "c_2"]
  assert graph_mode.copies_of(graph, "w") == ["w"]
  assert graph_mode.output_tensor_names(graph, "x_2") == ["x_2:0"]
  assert graph_mode.output_tensor_names(graph, "v_1/Assign") == []
  assert "x_1" in graph_mode.operation_names(graph)


def test_unknown_op_name_lists_the_copies():
  graph = basics.build_repeatedly(2)
  with pytest.raises(KeyError, match=r"x_7.*\['x', 'x_1'\]"):
    graph_mode.output_tensor_names(graph, "x_7")


# -- the two classic failures ----------------------------------------------

def test_running_before_initializing_says_to_run_the_initializer(
    program, features):
  with pytest.raises(graph_mode.UninitializedVariableError) as caught:
    basics.fetch_before_initializing(program, features)
  message = str(caught.value)
  assert "variable 'w'" in message
  assert "global_variables_initializer()" in message
  assert "\n" not in message
  assert isinstance(caught.value, EngineUserError)


def test_running_without_feeding_names_the_placeholder(program):
  with pytest.raises(graph_mode.UnfedPlaceholderError) as caught:
    basics.fetch_without_feeding(program)
  message = str(caught.value)
  assert "placeholder 'x'" in message
  assert "float32" in message and "(None, 10)" in message
  assert "feed_dict" in message
  assert "\n" not in message


def test_classic_failure_messages_collects_both(program, features):
  messages = basics.classic_failure_messages(program, features)
  assert sorted(messages) == ["unfed_placeholder", "uninitialized_variable"]


# -- optimizing x**2, trainable / var_list ----------------------------------

def test_optimize_square_shrinks_x_by_one_minus_two_lr_per_step(tmp_path):
  history = basics.optimize_square(2.0, num_steps=10, learning_rate=0.1,
                                       logdir=str(tmp_path))
  assert [s.step for s in history] == list(range(11))
  expected_x = 2.0 * 0.8 ** np.arange(11)
  testing.assert_allclose([s.x for s in history], expected_x)
  testing.assert_allclose([s.f for s in history], expected_x ** 2)
  events = load_events(str(tmp_path))
  assert sorted(events.Tags()["scalars"]) == ["square/f", "square/x"]
  testing.assert_allclose([e.value for e in events.Scalars("square/x")],
                          expected_x)


@pytest.mark.parametrize("kwargs", [{"num_steps": 0},
                                    {"learning_rate": 0.0}],
                         ids=["zero_steps", "zero_learning_rate"])
def test_optimize_square_rejects_bad_settings(kwargs):
  with pytest.raises(EngineUserError, match="must be > 0"):
    basics.optimize_square(1.0, **kwargs)


def test_var_list_and_trainable_false_choose_what_is_updated():
  report = basics.compare_variable_selection(learning_rate=0.1)
  assert report.global_variables == ["a", "b", "c"]
  assert report.trainable_variables == ["a", "b"]
  assert report.initial == {"a": 1.0, "b": 1.0, "c": 1.0}
  testing.assert_allclose(list(report.after_var_list_step.values()),
                          [0.8, 1.0, 1.0])
  testing.assert_allclose(list(report.after_default_step.values()),
                          [0.64, 0.8, 1.0])


# -- linear regression -----------------------------------------------------

def test_regression_data_follows_the_formula_and_the_seed():
  data = basics.make_regression_data(num_examples=50, num_features=3,
                                         noise_scale=0.0, seed=2)
  assert data.features.shape == (50, 3) and data.targets.shape == (50, 1)
  assert data.features.dtype == np.float32
  testing.assert_allclose(data.targets, data.features @ data.true_weights)
  again = basics.make_regression_data(num_examples=50, noise_scale=0.0,
                                          seed=2)
  np.testing.assert_array_equal(again.features, data.features)


@pytest.mark.parametrize("kwargs", [{"num_examples": 0},
                                    {"noise_scale": -1.0}, {"seed": -1}],
                         ids=["no_examples", "negative_noise", "bad_seed"])
def test_regression_data_rejects_bad_settings(kwargs):
  with pytest.raises(EngineUserError):
    basics.make_regression_data(**kwargs)


def test_graph_regression_matches_numpy_gradient_descent(small_data):
  result = basics.fit_linear_regression(small_data, num_steps=5,
                                            learning_rate=0.1, log_every=2)
  testing.assert_allclose(result.weights,
                          numpy_gradient_descent(small_data, 5, 0.1),
                          atol=1e-5)
  assert [log.step for log in result.history] == [0, 2, 4, 5]
  initial_mse = float(np.mean(small_data.targets.astype(np.float64) ** 2))
  assert result.history[0].loss == pytest.approx(initial_mse, rel=1e-5)
  assert result.final_step == 5


def test_graph_regression_recovers_the_true_weights():
  data = basics.make_regression_data(num_examples=1000, num_features=3,
                                         noise_scale=0.2, seed=0)
  result = basics.fit_linear_regression(data, 300, 0.1)
  assert [log.step for log in result.history] == list(range(0, 301, 50))
  assert np.abs(result.weights - data.true_weights).max() < 0.05
  assert result.history[-1].loss < 0.05 < result.history[0].loss


def test_file_writer_output_has_graph_and_scalars(small_data, tmp_path):
  basics.fit_linear_regression(small_data, num_steps=4,
                                   logdir=str(tmp_path))
  events = load_events(str(tmp_path))
  assert events.Tags()["graph"]
  assert sorted(events.Tags()["scalars"]) == [
      "regression/loss", "regression/w0", "regression/w1", "regression/w2"]
  assert [e.step for e in events.Scalars("regression/loss")] == [
      0, 1, 2, 3, 4]
  graph_ops = {node.name for node in events.Graph().node}
  assert {"features", "targets", "w", "mse"} <= graph_ops


# -- checkpoints -----------------------------------------------------------

def checkpoint_indexes(directory):
  return sorted(os.path.basename(p) for p in
                glob.glob(os.path.join(directory, "*.index")))


def test_saver_keeps_exactly_the_last_five(small_data, tmp_path):
  run = basics.fit_with_checkpoints(small_data, str(tmp_path),
                                        num_steps=7, checkpoint_every=1)
  expected = [f"model.ckpt-{step}" for step in range(3, 8)]
  assert [os.path.basename(p) for p in run.last_checkpoints] == expected
  assert checkpoint_indexes(str(tmp_path)) == [
      name + ".index" for name in expected]
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-7")


def test_checkpoints_are_saved_at_multiples_and_at_the_end(small_data,
                                                           tmp_path):
  run = basics.fit_with_checkpoints(small_data, str(tmp_path),
                                        num_steps=7, checkpoint_every=3)
  assert [os.path.basename(p) for p in run.last_checkpoints] == [
      "model.ckpt-3", "model.ckpt-6", "model.ckpt-7"]


def test_restore_and_continue_equals_uninterrupted_training(small_data,
                                                            tmp_path):
  run = basics.fit_with_checkpoints(small_data, str(tmp_path),
                                        num_steps=7, checkpoint_every=1)
  chosen = run.last_checkpoints[0]  # step 3
  continued = basics.restore_and_continue(small_data, chosen,
                                              num_steps=4, log_every=2)
  assert continued.final_step == 7
  assert [log.step for log in continued.history] == [4, 6, 7]
  testing.assert_allclose(continued.weights, run.result.weights, atol=1e-7)


def test_restoring_into_a_wider_graph_names_the_variable(small_data,
                                                          tmp_path):
  run = basics.fit_with_checkpoints(small_data, str(tmp_path),
                                        num_steps=2, checkpoint_every=1)
  wider = basics.make_regression_data(num_examples=8, num_features=4)
  with pytest.raises(CheckpointMismatchError,
                     match=r"'w' has shape \[4, 1\] in the graph but "
                     r"\[3, 1\]"):
    basics.restore_and_continue(wider, run.last_checkpoints[-1], 1)


def test_restoring_into_a_graph_with_an_extra_variable_names_it(
    small_data, tmp_path):
  run = basics.fit_with_checkpoints(small_data, str(tmp_path),
                                        num_steps=1)
  model = basics.build_linear_regression(3, 0.1)
  with model.graph.as_default():
    v1.get_variable("bias", shape=(1,))
  with pytest.raises(CheckpointMismatchError,
                     match=r"variable 'bias' \(shape \[1\]\) of the graph is "
                     r"not in checkpoint.*global_step \[\], w \[3, 1\]"):
    graph_mode.check_checkpoint_matches(model.graph,
                                         run.last_checkpoints[-1])


def test_restoring_a_missing_checkpoint_lists_the_kept_ones(small_data,
                                                            tmp_path):
  basics.fit_with_checkpoints(small_data, str(tmp_path), num_steps=1)
  with pytest.raises(CheckpointMismatchError,
                     match=r"no readable checkpoint.*model\.ckpt-1'\]"):
    basics.restore_and_continue(
        small_data, str(tmp_path / "model.ckpt-99"), 1)


# -- TF2 side by side ------------------------------------------------------

def test_tf2_matches_graph_mode_after_300_steps(tmp_path):
  data = basics.make_regression_data(num_examples=1000, num_features=3,
                                         noise_scale=0.2, seed=0)
  graph_result = basics.fit_linear_regression(data, 300, 0.1)
  tf2_result = basics.fit_linear_regression_tf2(data, 300, 0.1,
                                             logdir=str(tmp_path))
  testing.assert_allclose(tf2_result.weights, graph_result.weights,
                          atol=1e-4, rtol=0)
  assert tf2_result.final_step == 300
  assert [log.step for log in tf2_result.history] == [
      log.step for log in graph_result.history]
  testing.assert_allclose([log.loss for log in tf2_result.history],
                          [log.loss for log in graph_result.history],
                          atol=1e-5)
  assert np.abs(tf2_result.weights - data.true_weights).max() < 0.05


def test_tf2_matches_numpy_gradient_descent(small_data):
  result = basics.fit_linear_regression_tf2(small_data, num_steps=5)
  testing.assert_allclose(result.weights,
                          numpy_gradient_descent(small_data, 5, 0.1),
                          atol=1e-5)


def test_tf2_traced_graph_ops_and_tensorboard_logs(small_data, tmp_path):
  result = basics.fit_linear_regression_tf2(small_data, num_steps=3,
                                         logdir=str(tmp_path))
  ops = set(result.traced_ops)
  assert {"features", "targets", "MatMul"} <= ops
  assert ops & {"ResourceApplyGradientDescent", "AssignSubVariableOp"}
  events = load_events(str(tmp_path))
  assert events.Tags()["graph"]
  assert {node.name for node in events.Graph().node} >= {"features",
                                                         "MatMul"}
  assert {"regression/loss", "regression/w0"} <= set(
      events.Tags()["tensors"])
  assert [e.step for e in events.Tensors("regression/loss")] == [0, 1, 2, 3]


def test_tf2_twin_trains_through_the_engine_loop_traced_once(small_data):
  trainer = basics.tf2_regression_trainer(0.1)
  for start in (0, 8):
    data = tf.data.Dataset.from_tensors(
        (small_data.features[start:start + 8],
         small_data.targets[start:start + 8]))
    trainer.fit(lambda epoch, d=data: d, epochs=trainer.epochs_done + 2,
                steps_per_epoch=1)
  assert trainer._train_loop.experimental_get_tracing_count() == 1
  assert trainer.steps_done == 4
