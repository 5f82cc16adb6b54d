"""SimpleRNN, LSTM, GRU and Bidirectional against Keras 3 as the reference.

Each comparison builds the Keras layer, copies its weights into ours with
`set_weights`/`assign`, and checks outputs AND gradients (w.r.t. the inputs
and every weight) to 1e-5.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine.modules import recurrent
from engine.modules.recurrent import GRU, LSTM, SimpleRNN
from engine.modules.wrappers import Bidirectional
from tests import testing

BATCH, FEATURES, UNITS = 2, 3, 4
UNROLLED_STEPS = 5  # Static and <= MAX_AUTO_UNROLL: unrolled in Python.
# unroll=False runs while-loop iterations of LOOP_CHUNK steps, then the
# rest; tests shrink the chunk (see `small_loop_chunk`) to trace faster.
SMALL_LOOP_CHUNK = 3
LOOPED_STEPS = 7  # Two chunks of 3, then one step.


@pytest.fixture
def small_loop_chunk(monkeypatch):
  monkeypatch.setattr(recurrent, "LOOP_CHUNK", SMALL_LOOP_CHUNK)

# name -> (our class, Keras class, extra constructor arguments)
CELLS = {
    "simple_rnn": (SimpleRNN, keras.layers.SimpleRNN, {}),
    "lstm": (LSTM, keras.layers.LSTM, {}),
    "gru": (GRU, keras.layers.GRU, {}),
}
# Variants whose gradient goes through the GradientTape fallback.
TAPE_CELLS = {
    "gru_reset_before": (GRU, keras.layers.GRU, {"reset_after": False}),
    "lstm_hard_sigmoid": (LSTM, keras.layers.LSTM,
                          {"recurrent_activation": "hard_sigmoid"}),
}


def _random(shape, seed: int, scale: float = 1.0) -> np.ndarray:
  rng = np.random.default_rng(seed)
  return (scale * rng.normal(size=shape)).astype(np.float32)


def _copy_weights(keras_layer, our_variables, seed: int = 0) -> None:
  """Random Keras weights (bigger than the defaults), copied into ours."""
  weights = [_random(v.shape, seed + i, scale=0.5)
             for i, v in enumerate(keras_layer.weights)]
  keras_layer.set_weights(weights)
  assert len(our_variables) == len(weights)
  for variable, value in zip(our_variables, weights):
    variable.assign(value)


def _bidirectional_variables(layer: Bidirectional) -> list[tf.Variable]:
  """In Keras's order: forward (w, u, b), then backward (w, u, b)."""
  return [getattr(direction, name)
          for direction in (layer.forward_layer, layer.backward_layer)
          for name in ("w", "u", "b")]


def _outputs_and_grads(layer, variables, x) -> list[tf.Tensor]:
  """[y, d loss/d x, d loss/d variables...] for a loss that weighs every
  output position differently (so an ordering mistake shows)."""
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x)
    position_weights = tf.reshape(
        tf.cos(tf.cast(tf.range(tf.size(y)), y.dtype)), tf.shape(y))
    loss = tf.reduce_sum(y * position_weights) + tf.reduce_sum(y * y)
  return [y] + tape.gradient(loss, [x] + list(variables))


def _compare(ours, our_variables, reference, x, *, in_function: bool):
  x = tf.constant(x)
  run = _outputs_and_grads
  if in_function:
    run = tf.function(_outputs_and_grads)
  actual = run(ours, our_variables, x)
  expected = _outputs_and_grads(
      reference, [v.value for v in reference.trainable_weights], x)
  assert len(actual) == len(expected)
  for a, e in zip(actual, expected):
    testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5)


PATHS = {
    # Unrolled: run eagerly. Looped: in a tf.function, as in training.
    "unrolled": dict(unroll="auto", steps=UNROLLED_STEPS, in_function=False),
    "looped": dict(unroll=False, steps=LOOPED_STEPS, in_function=True),
}


def _cases(cells, return_sequences=(True, False), go_backwards=(False, True)):
  for cell in cells:
    for sequences in return_sequences:
      for backwards in go_backwards:
        for path in PATHS:
          case_id = "-".join([cell, "seq" if sequences else "last",
                              "backwards" if backwards else "forwards", path])
          yield pytest.param(cell, sequences, backwards, path, id=case_id)


@pytest.mark.parametrize(
    "cell,return_sequences,go_backwards,path",
    list(_cases(CELLS)) + list(_cases(TAPE_CELLS, go_backwards=(False,),
                                      return_sequences=(True,))))
@pytest.mark.usefixtures("small_loop_chunk")
def test_layer_matches_keras(cell, return_sequences, go_backwards, path):
  ours_class, keras_class, extra = {**CELLS, **TAPE_CELLS}[cell]
  setup = PATHS[path]
  reference = keras_class(UNITS, return_sequences=return_sequences,
                          go_backwards=go_backwards, **extra)
  reference.build((None, None, FEATURES))
  ours = ours_class(UNITS, return_sequences=return_sequences,
                    go_backwards=go_backwards, unroll=setup["unroll"],
                    **extra)
  x = _random([BATCH, setup["steps"], FEATURES], seed=1)
  ours(x)
  _copy_weights(reference, [ours.w, ours.u, ours.b])
  _compare(ours, [ours.w, ours.u, ours.b], reference, x,
           in_function=setup["in_function"])


@pytest.mark.parametrize("return_sequences", [True, False],
                         ids=["seq", "last"])
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.usefixtures("small_loop_chunk")
def test_bidirectional_lstm_matches_keras(return_sequences, path):
  setup = PATHS[path]
  reference = keras.layers.Bidirectional(
      keras.layers.LSTM(UNITS, return_sequences=return_sequences))
  reference.build((None, None, FEATURES))
  ours = Bidirectional(LSTM(UNITS, return_sequences=return_sequences,
                            unroll=setup["unroll"]))
  x = _random([BATCH, setup["steps"], FEATURES], seed=2)
  ours(x)
  variables = _bidirectional_variables(ours)
  _copy_weights(reference, variables)
  _compare(ours, variables, reference, x, in_function=setup["in_function"])


@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave"])
def test_bidirectional_merge_modes_match_keras(merge_mode):
  reference = keras.layers.Bidirectional(
      keras.layers.GRU(UNITS, return_sequences=True), merge_mode=merge_mode)
  reference.build((None, None, FEATURES))
  ours = Bidirectional(GRU(UNITS, return_sequences=True),
                       merge_mode=merge_mode)
  x = _random([BATCH, UNROLLED_STEPS, FEATURES], seed=3)
  ours(x)
  variables = _bidirectional_variables(ours)
  _copy_weights(reference, variables)
  _compare(ours, variables, reference, x, in_function=False)


def test_bidirectional_without_merge_returns_both_directions():
  ours = Bidirectional(SimpleRNN(UNITS, return_sequences=True),
                       merge_mode=None)
  x = tf.constant(_random([BATCH, UNROLLED_STEPS, FEATURES], seed=4))
  forward, backward = ours(x)
  testing.assert_allclose(forward, ours.forward_layer(x))
  # The backward outputs come back in time order.
  testing.assert_allclose(backward,
                          tf.reverse(ours.backward_layer(x), axis=[1]))


@pytest.mark.parametrize("layer_name", ["lstm", "bidirectional_gru"])
def test_variable_length_inputs_trace_once(layer_name):
  # With the real LOOP_CHUNK (8): 5 steps are all tail, 13 are a chunk + 5.
  assert recurrent.LOOP_CHUNK == 8
  if layer_name == "lstm":
    reference = keras.layers.LSTM(UNITS, return_sequences=True)
    ours = LSTM(UNITS, return_sequences=True)
  else:
    reference = keras.layers.Bidirectional(keras.layers.GRU(UNITS))
    ours = Bidirectional(GRU(UNITS))
  reference.build((None, None, FEATURES))
  ours(tf.zeros([1, 1, FEATURES]))
  variables = (_bidirectional_variables(ours) if layer_name != "lstm"
               else [ours.w, ours.u, ours.b])
  _copy_weights(reference, variables)
  run = tf.function(
      lambda x: _outputs_and_grads(ours, variables, x),
      input_signature=[tf.TensorSpec([None, None, FEATURES])])
  reference_variables = [v.value for v in reference.trainable_weights]
  for steps in (5, 13):
    x = tf.constant(_random([BATCH, steps, FEATURES], seed=steps))
    expected = _outputs_and_grads(reference, reference_variables, x)
    for a, e in zip(run(x), expected):
      testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5)
  assert run.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("name,build_ours,build_keras,features", [
    ("bilstm64", lambda: Bidirectional(LSTM(64)),
     lambda: keras.layers.Bidirectional(keras.layers.LSTM(64)), 64),
    ("lstm60", lambda: LSTM(60), lambda: keras.layers.LSTM(60), 60),
    ("gru32", lambda: GRU(32), lambda: keras.layers.GRU(32), 16),
    ("gru32_reset_before", lambda: GRU(32, reset_after=False),
     lambda: keras.layers.GRU(32, reset_after=False), 16),
    ("simple_rnn40", lambda: SimpleRNN(40),
     lambda: keras.layers.SimpleRNN(40), 1),
], ids=lambda v: v if isinstance(v, str) else "")
def test_param_counts_match_keras(name, build_ours, build_keras, features):
  del name  # Only names the case.
  ours, reference = build_ours(), build_keras()
  ours(tf.zeros([1, 2, features]))
  reference.build((None, None, features))
  count = sum(int(np.prod(v.shape)) for v in ours.trainable_variables)
  assert count == reference.count_params()


def test_lstm_forget_bias_starts_at_one():
  lstm = LSTM(UNITS)
  lstm(tf.zeros([1, 2, FEATURES]))
  expected = np.concatenate([np.zeros(UNITS), np.ones(UNITS),
                             np.zeros(2 * UNITS)])
  testing.assert_allclose(lstm.b, expected)


def test_gru_bias_shape_follows_reset_after():
  after, before = GRU(UNITS), GRU(UNITS, reset_after=False)
  for gru in (after, before):
    gru(tf.zeros([1, 2, FEATURES]))
  assert after.b.shape == (2, 3 * UNITS)
  assert before.b.shape == (3 * UNITS,)


@pytest.mark.parametrize("make_layer", [
    lambda: LSTM(UNITS), lambda: Bidirectional(GRU(UNITS))],
                         ids=["lstm", "bidirectional_gru"])
def test_freezing_removes_trainable_variables(make_layer):
  layer = make_layer()
  x = tf.constant(_random([BATCH, UNROLLED_STEPS, FEATURES], seed=5))
  layer(x)
  num_variables = len(layer.variables)
  layer.trainable = False
  assert layer.trainable_variables == ()
  assert len(layer.non_trainable_variables) == num_variables
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x)
  assert tape.gradient(y, x) is not None  # Inputs still get gradients.


def test_stacked_bilstm_matches_keras_sequential():
  steps, features = 6, 8
  reference = keras.Sequential([
      keras.Input((steps, features)),
      keras.layers.Bidirectional(
          keras.layers.LSTM(16, return_sequences=True)),
      keras.layers.Bidirectional(keras.layers.LSTM(32)),
  ])
  first = Bidirectional(LSTM(16, return_sequences=True))
  second = Bidirectional(LSTM(32))
  x = tf.constant(_random([BATCH, steps, features], seed=6))
  second(first(x))
  _copy_weights(reference.layers[0], _bidirectional_variables(first), seed=0)
  _copy_weights(reference.layers[1], _bidirectional_variables(second),
                seed=10)
  y = second(first(x))
  assert y.shape == (BATCH, 64)
  testing.assert_allclose(y, reference(x), atol=1e-5, rtol=1e-5)


def test_initial_state_matches_keras():
  reference = keras.layers.LSTM(UNITS, return_sequences=True)
  reference.build((None, None, FEATURES))
  ours = LSTM(UNITS, return_sequences=True)
  x = tf.constant(_random([BATCH, UNROLLED_STEPS, FEATURES], seed=7))
  ours(x)
  _copy_weights(reference, [ours.w, ours.u, ours.b])
  h0 = tf.constant(_random([BATCH, UNITS], seed=8))
  c0 = tf.constant(_random([BATCH, UNITS], seed=9))

  def run(layer):
    with tf.GradientTape() as tape:
      tape.watch([h0, c0])
      y = layer(x, initial_state=[h0, c0])
      loss = tf.reduce_sum(y * y)
    return [y] + tape.gradient(loss, [h0, c0])

  for a, e in zip(run(ours), run(reference)):
    testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5)


def test_initial_state_is_zeros_of_state_size():
  lstm, gru = LSTM(UNITS), GRU(UNITS)
  h, c = lstm.initial_state(3)
  (gru_h,) = gru.initial_state(3)
  for state in (h, c, gru_h):
    assert state.shape == (3, UNITS) and state.dtype == tf.float32
    testing.assert_allclose(state, np.zeros([3, UNITS]))


def test_dtype_follows_input():
  x = _random([BATCH, UNROLLED_STEPS, FEATURES], seed=11)
  lstm64 = LSTM(UNITS)
  y64 = lstm64(tf.constant(x, tf.float64))
  assert y64.dtype == tf.float64 and lstm64.w.dtype == tf.float64
  lstm32 = LSTM(UNITS)
  lstm32(tf.constant(x))
  for ours, theirs in zip(lstm32.variables, lstm64.variables):
    ours.assign(tf.cast(theirs, tf.float32))
  testing.assert_allclose(lstm32(tf.constant(x)), y64, atol=1e-5)
  with pytest.raises(TypeError, match="float32.*float64"):
    lstm64(tf.constant(x))


def test_clone_copies_config_unbuilt():
  lstm = LSTM(UNITS, return_sequences=True, unit_forget_bias=False)
  lstm(tf.zeros([1, 2, FEATURES]))
  backward = lstm.clone(go_backwards=True)
  assert not backward.built
  assert backward.go_backwards and not lstm.go_backwards
  expected = {**lstm.get_config(), "go_backwards": True}
  assert backward.get_config() == expected
  with pytest.raises(TypeError, match="unknown arguments.*'units_'"):
    lstm.clone(units_=3)


def test_gradients_match_under_mirrored_strategy():
  x = tf.constant(_random([2 * BATCH, UNROLLED_STEPS, FEATURES], seed=12))
  strategy = testing.mirrored_strategy()
  with strategy.scope():
    layer = Bidirectional(LSTM(UNITS))
    layer(x[:1])

  def grads(batch):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(layer(batch) ** 2)
    return tape.gradient(loss, layer.trainable_variables)

  @tf.function
  def distributed(x):
    per_replica = strategy.run(grads, args=(
        strategy.experimental_distribute_values_from_function(
            lambda context: tf.split(x, 2)[context.replica_id_in_sync_group]
        ),))
    return [strategy.reduce("SUM", g, axis=None) for g in per_replica]

  for a, e in zip(distributed(x), grads(x)):
    testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make_call,error,pattern", [
    (lambda: LSTM(UNITS)(tf.zeros([2, FEATURES])), ValueError,
     r"\[batch, time, features\].*\(2, 3\)"),
    (lambda: LSTM(UNITS)(tf.zeros([2, 0, FEATURES])), ValueError,
     r"no timesteps \(shape \(2, 0, 3\)\)"),
    (lambda: SimpleRNN(0), ValueError, "units must be an int >= 1, got 0"),
    (lambda: SimpleRNN(2.5), ValueError, "units must be an int >= 1, got 2.5"),
    (lambda: GRU(UNITS, unroll="yes"), ValueError, "unroll.*'yes'"),
    (lambda: LSTM(UNITS)(tf.zeros([1, 2, 3], tf.int32)), TypeError,
     "floating point, got int32"),
    (lambda: Bidirectional(LSTM(UNITS), merge_mode="max"), ValueError,
     "merge_mode.*'max'"),
    (lambda: Bidirectional(LSTM(UNITS), backward_layer=LSTM(UNITS)),
     ValueError, "go_backwards=False"),
], ids=["rank2_input", "no_timesteps", "zero_units", "float_units",
        "bad_unroll", "int_input",
        "bad_merge_mode", "same_direction_backward_layer"])
def test_bad_arguments_raise(make_call, error, pattern):
  with pytest.raises(error, match=pattern):
    make_call()


def test_features_must_not_change_after_build():
  lstm = LSTM(UNITS)
  lstm(tf.zeros([1, 2, FEATURES]))
  with pytest.raises(ValueError, match="5 features.*built for 3"):
    lstm(tf.zeros([1, 2, 5]))


def test_forced_unroll_needs_static_time():
  lstm = LSTM(UNITS, unroll=True)
  run = tf.function(lstm, input_signature=[
      tf.TensorSpec([None, None, FEATURES])])
  with pytest.raises(ValueError, match="static time dimension"):
    run.get_concrete_function()


@pytest.mark.parametrize("unroll,steps,expected", [
    ("auto", recurrent.MAX_AUTO_UNROLL, True),
    ("auto", recurrent.MAX_AUTO_UNROLL + 1, False),
    ("auto", None, False),
    (False, 3, False),
    (True, 100, True),
], ids=["auto_short", "auto_long", "auto_dynamic", "never", "always"])
def test_unroll_choice(unroll, steps, expected):
  assert LSTM(UNITS, unroll=unroll)._should_unroll(steps) is expected
