"""Optimizers: Keras 3 update rules, tf.function, checkpoints, distribution."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import optimizers
from engine.errors import EngineUserError
from engine.optimizers import adam
from engine.optimizers import fused
from engine.optimizers import rmsprop
from engine.optimizers import schedules
from tests import testing

NUM_STEPS = 5
INITIAL_VALUES = [
    np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], np.float32),
    np.array([0.1, -0.2, 0.3], np.float32),
]


def _gradients(num_steps=NUM_STEPS, scale=1.0, seed=0):
  """Fixed gradients per step, varied in sign and size (some exceed 1)."""
  rng = np.random.default_rng(seed)
  return [[scale * rng.normal(size=v.shape).astype(np.float32)
           for v in INITIAL_VALUES] for _ in range(num_steps)]


def _run_ours(optimizer, grads_per_step, apply_fn=None):
  variables = [tf.Variable(v) for v in INITIAL_VALUES]
  apply_fn = apply_fn or optimizer.apply
  for grads in grads_per_step:
    apply_fn([tf.constant(g) for g in grads], variables)
  return [v.numpy() for v in variables]


def _run_keras(optimizer, grads_per_step):
  variables = [keras.Variable(v) for v in INITIAL_VALUES]
  for grads in grads_per_step:
    optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
  return [np.asarray(v.numpy()) for v in variables]


# TF's fused ResourceApplyAdam kernel rounds differently from Keras's
# composite ops: a few float32 ulps after 5 steps at large rates.
FUSED_ADAM_ATOL = 5e-6


def _assert_variables_equal(actual, expected, atol=1e-6):
  for a, e in zip(actual, expected):
    testing.assert_allclose(a, e, atol=atol, rtol=1e-6)


# (ours, Keras 3's) constructor pairs with the same hyperparameters.
CASES = {
    "sgd": (lambda: optimizers.SGD(0.1),
            lambda: keras.optimizers.SGD(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9),
                     lambda: keras.optimizers.SGD(0.1, momentum=0.9)),
    "sgd_nesterov": (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)),
    "rmsprop": (lambda: optimizers.RMSprop(0.01),
                lambda: keras.optimizers.RMSprop(0.01)),
    "rmsprop_centered": (
        lambda: optimizers.RMSprop(0.01, rho=0.8, centered=True),
        lambda: keras.optimizers.RMSprop(0.01, rho=0.8, centered=True)),
    "rmsprop_momentum": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5),
        lambda: keras.optimizers.RMSprop(0.01, momentum=0.5)),
    "rmsprop_centered_momentum": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    "adam": (lambda: optimizers.Adam(0.01),
             lambda: keras.optimizers.Adam(0.01)),
    "adam_betas_epsilon": (
        lambda: optimizers.Adam(0.05, beta_1=0.8, beta_2=0.9, epsilon=1e-3),
        lambda: keras.optimizers.Adam(0.05, beta_1=0.8, beta_2=0.9,
                                      epsilon=1e-3)),
    "adam_amsgrad": (lambda: optimizers.Adam(0.01, amsgrad=True),
                     lambda: keras.optimizers.Adam(0.01, amsgrad=True)),
    "sgd_clipnorm": (lambda: optimizers.SGD(0.1, clipnorm=0.5),
                     lambda: keras.optimizers.SGD(0.1, clipnorm=0.5)),
    "sgd_clipvalue": (lambda: optimizers.SGD(0.1, clipvalue=0.3),
                      lambda: keras.optimizers.SGD(0.1, clipvalue=0.3)),
    "adam_global_clipnorm": (
        lambda: optimizers.Adam(0.01, global_clipnorm=0.7),
        lambda: keras.optimizers.Adam(0.01, global_clipnorm=0.7)),
    "rmsprop_clipnorm": (
        lambda: optimizers.RMSprop(0.01, clipnorm=0.2),
        lambda: keras.optimizers.RMSprop(0.01, clipnorm=0.2)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_first_five_steps_match_keras(case):
  ours, theirs = CASES[case]
  grads = _gradients()
  _assert_variables_equal(_run_ours(ours(), grads),
                          _run_keras(theirs(), grads))


def test_clipping_changes_the_step():
  grads = _gradients(num_steps=1, scale=10.0)
  unclipped = _run_ours(optimizers.SGD(0.1), grads)
  clipped = _run_ours(optimizers.SGD(0.1, global_clipnorm=1.0), grads)
  step = np.concatenate([(c - v).ravel()
                         for c, v in zip(clipped, INITIAL_VALUES)])
  testing.assert_allclose(np.linalg.norm(step), 0.1, atol=1e-6)
  assert not np.allclose(unclipped[0], clipped[0])


@pytest.mark.parametrize("case", ["sgd_nesterov", "rmsprop_centered_momentum",
                                  "adam_amsgrad"],
                         ids=["sgd_nesterov", "rmsprop_centered_momentum",
                              "adam_amsgrad"])
def test_apply_inside_tf_function_matches_keras(case):
  ours, theirs = CASES[case]
  optimizer = ours()
  grads = _gradients()

  @tf.function
  def apply(grads, variables):
    optimizer.apply(grads, variables)

  _assert_variables_equal(_run_ours(optimizer, grads, apply_fn=apply),
                          _run_keras(theirs(), grads))
  assert optimizer.iterations.numpy() == NUM_STEPS


def test_iterations_count_applies():
  optimizer = optimizers.Adam()
  _run_ours(optimizer, _gradients(num_steps=3))
  assert optimizer.iterations.dtype == tf.int64
  assert optimizer.iterations.numpy() == 3


SCHEDULES = {
    "exponential": (
        lambda: schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
        lambda: keras.optimizers.schedules.ExponentialDecay(
            0.1, decay_steps=2, decay_rate=0.5)),
    "exponential_staircase": (
        lambda: schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True),
        lambda: keras.optimizers.schedules.ExponentialDecay(
            0.1, 2, 0.5, staircase=True)),
    "piecewise": (
        lambda: schedules.PiecewiseConstant([1, 3], [0.1, 0.05, 0.01]),
        lambda: keras.optimizers.schedules.PiecewiseConstantDecay(
            [1, 3], [0.1, 0.05, 0.01])),
}


@pytest.mark.parametrize("name", list(SCHEDULES), ids=list(SCHEDULES))
def test_schedule_values_match_keras(name):
  ours, theirs = SCHEDULES[name]
  ours, theirs = ours(), theirs()
  for step in range(8):
    testing.assert_allclose(ours(tf.constant(step, tf.int64)),
                            theirs(step), atol=1e-8)


@pytest.mark.parametrize("name", list(SCHEDULES), ids=list(SCHEDULES))
def test_schedule_learning_rate_steps_match_keras(name):
  ours, theirs = SCHEDULES[name]
  grads = _gradients()
  optimizer = optimizers.Adam(learning_rate=ours())
  _assert_variables_equal(
      _run_ours(optimizer, grads),
      _run_keras(keras.optimizers.Adam(learning_rate=theirs()), grads),
      atol=FUSED_ADAM_ATOL)
  testing.assert_allclose(optimizer.learning_rate_value(),
                          theirs()(NUM_STEPS), atol=1e-8)


def test_exponential_sweep_is_the_course_lambda():
  sweep = schedules.exponential_sweep()
  for epoch in (0, 1, 20, 37, 100):
    assert sweep(epoch) == pytest.approx(1e-8 * 10**(epoch / 20), rel=1e-12)
  assert schedules.exponential_sweep(1e-3, 2.0, 1)(3) == pytest.approx(8e-3)


def test_set_learning_rate_matches_keras_assignment():
  grads = _gradients()
  ours = optimizers.RMSprop(0.01)
  theirs = keras.optimizers.RMSprop(0.01)
  ours_vars = [tf.Variable(v) for v in INITIAL_VALUES]
  theirs_vars = [keras.Variable(v) for v in INITIAL_VALUES]
  for step, step_grads in enumerate(grads):
    learning_rate = 0.01 * 2.0**step
    ours.set_learning_rate(learning_rate)
    theirs.learning_rate = learning_rate
    ours.apply([tf.constant(g) for g in step_grads], ours_vars)
    theirs.apply_gradients(zip([tf.constant(g) for g in step_grads],
                               theirs_vars))
  _assert_variables_equal([v.numpy() for v in ours_vars],
                          [np.asarray(v.numpy()) for v in theirs_vars])
  assert isinstance(ours.learning_rate_variable, tf.Variable)
  assert not ours.learning_rate_variable.trainable
  testing.assert_allclose(ours.learning_rate_value(), 0.01 * 2.0**4)


def test_variable_learning_rate_is_read_each_step():
  learning_rate = tf.Variable(0.1, trainable=False)
  optimizer = optimizers.SGD(learning_rate)
  var = tf.Variable(1.0)
  optimizer.apply([tf.constant(1.0)], [var])
  learning_rate.assign(0.01)
  optimizer.apply([tf.constant(1.0)], [var])
  testing.assert_allclose(var.numpy(), 1.0 - 0.1 - 0.01, atol=1e-7)


def test_set_learning_rate_refuses_a_schedule():
  optimizer = optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5))
  with pytest.raises(EngineUserError, match="schedule"):
    optimizer.set_learning_rate(0.5)


def _train_steps(optimizer, variables, grads_per_step):
  for grads in grads_per_step:
    optimizer.apply([tf.constant(g) for g in grads], variables)


@pytest.mark.parametrize("case", ["sgd_momentum", "rmsprop_centered_momentum",
                                  "adam_amsgrad"],
                         ids=["sgd_momentum", "rmsprop_centered_momentum",
                              "adam_amsgrad"])
@pytest.mark.parametrize("build_before_restore", [True, False],
                         ids=["built", "restore_before_build"])
def test_slots_survive_checkpoint_round_trip(case, build_before_restore,
                                             tmp_path):
  make = CASES[case][0]
  grads = _gradients(num_steps=4)
  variables = [tf.Variable(v) for v in INITIAL_VALUES]
  optimizer = make()
  _train_steps(optimizer, variables, grads[:2])
  checkpoint = tf.train.Checkpoint(variables=variables, optimizer=optimizer)
  path = checkpoint.save(str(tmp_path / "ckpt"))
  _train_steps(optimizer, variables, grads[2:])

  restored_vars = [tf.Variable(np.zeros_like(v)) for v in INITIAL_VALUES]
  restored = make()
  if build_before_restore:
    restored.build(restored_vars)
  status = tf.train.Checkpoint(variables=restored_vars,
                               optimizer=restored).restore(path)
  if not build_before_restore:
    restored.build(restored_vars)
  status.assert_consumed()
  assert restored.iterations.numpy() == 2
  _train_steps(restored, restored_vars, grads[2:])
  _assert_variables_equal([v.numpy() for v in restored_vars],
                          [v.numpy() for v in variables], atol=0)
  for ours, theirs in zip(restored.variables, optimizer.variables):
    testing.assert_allclose(ours, theirs, atol=0, rtol=0)


def _two_steps_mirrored(make, grads_per_replica, build_first=True):
  """Two applies in strategy.run; replica i gets grads_per_replica[i]."""
  strategy = testing.mirrored_strategy()
  with strategy.scope():
    variables = [tf.Variable(v) for v in INITIAL_VALUES]
    optimizer = make()
    if build_first:
      optimizer.build(variables)

  def replica_grads(context):
    return [tf.constant(g)
            for g in grads_per_replica[context.replica_id_in_sync_group]]

  grads = strategy.experimental_distribute_values_from_function(
      replica_grads)

  @tf.function
  def step(grads):
    strategy.run(optimizer.apply, args=(grads, variables))

  step(grads)
  step(grads)
  assert optimizer.iterations.numpy() == 2
  for var in variables:
    parts = strategy.experimental_local_results(var)
    testing.assert_allclose(parts[0], parts[1], atol=0, rtol=0)
  return [v.numpy() for v in variables]


@pytest.mark.parametrize("case", ["sgd_nesterov", "rmsprop_centered_momentum",
                                  "adam_global_clipnorm", "sgd_clipnorm"],
                         ids=["sgd_nesterov", "rmsprop_centered_momentum",
                              "adam_global_clipnorm", "sgd_clipnorm"])
def test_mirrored_step_equals_one_device_step(case):
  make = CASES[case][0]
  first, second = _gradients(num_steps=2, scale=3.0, seed=1)
  total = [a + b for a, b in zip(first, second)]
  single = _run_ours(make(), [total, total])
  _assert_variables_equal(_two_steps_mirrored(make, [first, second]), single)


def test_mirrored_apply_builds_slots_on_first_use():
  make = CASES["adam_amsgrad"][0]
  first, second = _gradients(num_steps=2, seed=2)
  total = [a + b for a, b in zip(first, second)]
  single = _run_ours(make(), [total, total])
  _assert_variables_equal(
      _two_steps_mirrored(make, [first, second], build_first=False), single)


# The fused (XLA) update of large variables, tried on the tiny test
# variables by lowering the size threshold; module attribute -> math.
FUSED_STEPS = {"rmsprop": (rmsprop, "_RMSPROP_STEP", "_rmsprop_math"),
               "adam": (adam, "_AMSGRAD_STEP", "_amsgrad_math")}


def _fuse_every_variable(monkeypatch, case: str) -> fused.FusedUpdate:
  """Routes `case`'s updates through a fresh XLA-compiled FusedUpdate."""
  module, step_name, math_name = FUSED_STEPS[case.split("_")[0]]
  step = fused.FusedUpdate(getattr(module, math_name))
  monkeypatch.setattr(module, step_name, step)
  monkeypatch.setattr(fused, "FUSE_MIN_ELEMENTS", 1)
  return step


@pytest.mark.parametrize("case", ["rmsprop", "rmsprop_centered_momentum",
                                  "adam_amsgrad"],
                         ids=["rmsprop", "rmsprop_centered_momentum",
                              "adam_amsgrad"])
def test_fused_update_matches_keras(case, monkeypatch):
  step = _fuse_every_variable(monkeypatch, case)
  ours, theirs = CASES[case]
  grads = _gradients()
  _assert_variables_equal(_run_ours(ours(), grads),
                          _run_keras(theirs(), grads))
  assert step.compiled.experimental_get_tracing_count() >= 1


def test_fused_update_under_mirrored_equals_one_device(monkeypatch):
  step = _fuse_every_variable(monkeypatch, "rmsprop_momentum")
  make = CASES["rmsprop_momentum"][0]
  first, second = _gradients(num_steps=2, scale=3.0, seed=1)
  total = [a + b for a, b in zip(first, second)]
  single = _run_ours(make(), [total, total])
  _assert_variables_equal(_two_steps_mirrored(make, [first, second]), single)
  assert step.compiled.experimental_get_tracing_count() >= 1


def test_small_variables_are_not_compiled():
  assert not fused.is_large(tf.Variable(tf.zeros([1023, 1024])))
  assert fused.is_large(tf.Variable(tf.zeros([1024, 1024])))


def test_none_gradient_leaves_its_variable_unchanged():
  optimizer = optimizers.Adam(0.1)
  used, unused = tf.Variable([1.0]), tf.Variable([2.0])
  optimizer.apply([tf.constant([1.0]), None], [used, unused])
  assert unused.numpy()[0] == 2.0
  assert used.numpy()[0] != 1.0


def test_all_none_gradients_raise():
  with pytest.raises(EngineUserError, match="every gradient is None"):
    optimizers.SGD().apply([None], [tf.Variable(1.0)])


def test_unknown_variable_raises():
  optimizer = optimizers.SGD(momentum=0.5)
  optimizer.build([tf.Variable(1.0)])
  with pytest.raises(EngineUserError, match="not in the list"):
    optimizer.apply([tf.constant(1.0)], [tf.Variable(2.0)])


def test_sparse_embedding_gradient_matches_keras():
  table = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
  ids = tf.constant([0, 2, 2])
  ours_table = tf.Variable(table)
  theirs_table = keras.Variable(table)
  ours, theirs = optimizers.Adam(0.1), keras.optimizers.Adam(0.1)
  for _ in range(2):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.gather(ours_table, ids) ** 2)
    grad = tape.gradient(loss, ours_table)
    assert isinstance(grad, tf.IndexedSlices)
    ours.apply([grad], [ours_table])
    theirs.apply_gradients([(tf.convert_to_tensor(grad), theirs_table)])
  testing.assert_allclose(ours_table.numpy(), theirs_table.numpy(),
                          atol=FUSED_ADAM_ATOL)


def test_get_by_name():
  adam = optimizers.get("Adam", learning_rate=0.5, amsgrad=True)
  assert isinstance(adam, optimizers.Adam) and adam.amsgrad
  testing.assert_allclose(adam.learning_rate_value(), 0.5)
  sgd = optimizers.get("sgd", None, momentum=0.9)
  testing.assert_allclose(sgd.learning_rate_value(), 0.01)
  assert isinstance(optimizers.get("rmsprop", 0.1), optimizers.RMSprop)


@pytest.mark.parametrize("call", [
    lambda: optimizers.get("adagrad", 0.1),
    lambda: optimizers.get("sgd", 0.1, beta_1=0.9),
    lambda: optimizers.SGD(0.1, clipnorm=1.0, clipvalue=1.0),
    lambda: optimizers.Adam(0.1, global_clipnorm=0.0),
    lambda: optimizers.SGD(momentum=1.5),
    lambda: optimizers.Adam(beta_1=1.0),
    lambda: optimizers.SGD(learning_rate=-1.0),
], ids=["unknown_name", "unknown_argument", "two_clip_options",
        "zero_clip", "momentum_range", "beta_range", "negative_lr"])
def test_bad_arguments_raise_user_errors(call):
  with pytest.raises(EngineUserError) as info:
    call()
  assert "got" in str(info.value) or "use one of" in str(info.value)
