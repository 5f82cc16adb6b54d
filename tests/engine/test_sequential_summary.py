"""Sequential and the summary table, against Keras 3's Sequential."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import summary_table
from engine.module import Module, NotBuiltError
from engine.modules.basic import Dropout, Flatten, Lambda, Scale
from engine.modules.conv import Conv1D, Conv2D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.pool import (GlobalAveragePooling1D, GlobalMaxPooling1D,
                                 MaxPool2D, MaxPooling1D)
from engine.modules.sequential import Sequential
from tests import testing
from tests.testing import assert_allclose

L = keras.layers


def _matrix(rows, cols):
  return np.random.default_rng(0).normal(size=(rows, cols)).astype(np.float32)


# Each architecture: (our layers, Keras layers, input shape, the shape given
# to our summary: None means "let the model find it").
ARCHITECTURES = {
    "a_flatten_dense": lambda: (
        [Flatten(), Dense(128, activation="relu"),
         Dense(10, activation="softmax")],
        [L.Flatten(), L.Dense(128, activation="relu"),
         L.Dense(10, activation="softmax")],
        (28, 28), (28, 28)),
    "b_conv_mnist": lambda: (
        [Conv2D(64, 3, activation="relu"), MaxPool2D(2), Flatten(),
         Dense(128, activation="relu"), Dense(10, activation="softmax")],
        [L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
         L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")],
        (28, 28, 1), (28, 28, 1)),
    "c_horses_humans": lambda: (
        [Conv2D(16, 3, activation="relu"), MaxPool2D(2),
         Conv2D(32, 3, activation="relu"), MaxPool2D(2),
         Conv2D(64, 3, activation="relu"), MaxPool2D(2), Flatten(),
         Dense(512, activation="relu"), Dense(1, activation="sigmoid")],
        [L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(2),
         L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
         L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
         L.Dense(512, activation="relu"), L.Dense(1, activation="sigmoid")],
        (150, 150, 3), (150, 150, 3)),
    "d_embedding_flatten": lambda: (
        [Embedding(10000, 16, input_length=120), Flatten(),
         Dense(6, activation="relu"), Dense(1, activation="sigmoid")],
        [L.Embedding(10000, 16), L.Flatten(), L.Dense(6, activation="relu"),
         L.Dense(1, activation="sigmoid")],
        (120,), None),
    "e_embedding_average": lambda: (
        [Embedding(1000, 16), GlobalAveragePooling1D(),
         Dense(24, activation="relu"), Dense(6, activation="softmax")],
        [L.Embedding(1000, 16), L.GlobalAveragePooling1D(),
         L.Dense(24, activation="relu"), L.Dense(6, activation="softmax")],
        (None,), (None,)),
    "f_series_dnn": lambda: (
        [Dense(100, activation="relu"), Dense(10, activation="relu"),
         Dense(1)],
        [L.Dense(100, activation="relu"), L.Dense(10, activation="relu"),
         L.Dense(1)],
        (20,), (20,)),
    "g_embedding_conv1d": lambda: (
        [Embedding(1000, 16, input_length=120),
         Conv1D(128, 5, activation="relu"), GlobalMaxPooling1D(),
         Dense(24, activation="relu"), Dense(1, activation="sigmoid")],
        [L.Embedding(1000, 16), L.Conv1D(128, 5, activation="relu"),
         L.GlobalMaxPooling1D(), L.Dense(24, activation="relu"),
         L.Dense(1, activation="sigmoid")],
        (120,), None),
    "h_frozen_pretrained_embedding": lambda: (
        [Embedding(101, 8, input_length=16, weights=[_matrix(101, 8)],
                   trainable=False),
         Dropout(0.2), Conv1D(64, 5, activation="relu"), MaxPooling1D(4),
         Flatten(), Dense(1, activation="sigmoid")],
        [L.Embedding(101, 8, weights=[_matrix(101, 8)], trainable=False),
         L.Dropout(0.2), L.Conv1D(64, 5, activation="relu"),
         L.MaxPooling1D(4), L.Flatten(), L.Dense(1, activation="sigmoid")],
        (16,), None),
}


def _size(weights):
  return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("make", ARCHITECTURES.values(),
                         ids=ARCHITECTURES.keys())
def test_summary_matches_keras(make):
  ours, theirs, input_shape, summary_shape = make()
  model = Sequential(ours)
  reference = keras.Sequential([keras.Input(input_shape), *theirs])
  text = model.summary(summary_shape, print_fn=None)
  rows = summary_table.layer_rows(model, input_shape)

  assert [r.output_shape for r in rows] == [
      tuple(layer.output.shape) for layer in reference.layers]
  assert [r.params for r in rows] == [
      layer.count_params() for layer in reference.layers]
  assert [r.type_name for r in rows] == [type(m).__name__ for m in ours]
  counts = summary_table.param_counts(model)
  assert counts.total == reference.count_params()
  assert counts.trainable == _size(reference.trainable_weights)
  assert counts.non_trainable == _size(reference.non_trainable_weights)
  assert f"Total params: {counts.total:,}" in text
  assert f"Trainable params: {counts.trainable:,}" in text
  assert f"Non-trainable params: {counts.non_trainable:,}" in text
  for row in rows:
    assert summary_table.format_shape(row.output_shape) in text


def test_summary_text_for_the_mnist_dense_model():
  model = Sequential([Flatten(), Dense(128, activation="relu"), Dense(10)],
                     name="mnist")
  printed = []
  text = model.summary([28, 28], print_fn=printed.append)
  assert printed == [text]
  lines = text.splitlines()
  assert lines[0] == 'Model: "mnist"'
  assert lines[4].split() == ["flatten", "(Flatten)", "(None,", "784)", "0"]
  assert lines[6].split() == ["dense", "(Dense)", "(None,", "128)", "100,480"]
  assert lines[8].split() == ["dense_1", "(Dense)", "(None,", "10)", "1,290"]
  assert lines[-4:-1] == ["Total params: 101,770", "Trainable params: 101,770",
                          "Non-trainable params: 0"]


def test_summary_display_names_are_unique():
  model = Sequential([Dense(2, name="head"), Dense(2, name="head"),
                      Dense(2), Dense(2, name="dense_1"), Dense(2)])
  rows = summary_table.layer_rows(model, [3])
  assert [r.name for r in rows] == ["head", "head_1", "dense", "dense_1",
                                    "dense_2"]


def test_summary_uses_the_built_input_shape_and_needs_one():
  model = Sequential([Dense(4)])
  with pytest.raises(ValueError, match=r"summary\(input_shape=...\)"):
    model.summary(print_fn=None)
  model(tf.zeros([5, 3]))
  assert "(None, 4)" in model.summary(print_fn=None)


def test_summary_keeps_none_dims_of_the_input_shape():
  model = Sequential([Conv1D(4, 3, padding="causal"), Dense(2)])
  rows = summary_table.layer_rows(model, [None, 3])
  assert [r.output_shape for r in rows] == [(None, None, 4), (None, None, 2)]


class _Pair(Module):
  """A container like Bidirectional: two Dense layers side by side."""

  def __init__(self):
    super().__init__(name="pair")
    self.left, self.right = Dense(3), Dense(2)

  def __call__(self, x, training=False):
    return tf.concat([self.left(x), self.right(x)], axis=-1)


def test_summary_counts_a_container_item_as_one_row():
  model = Sequential([_Pair(), Dense(1)])
  rows = summary_table.layer_rows(model, [4])
  assert [(r.name, r.type_name, r.output_shape, r.params) for r in rows] == [
      ("pair", "_Pair", (None, 5), (4 * 3 + 3) + (4 * 2 + 2)),
      ("dense", "Dense", (None, 1), 5 + 1)]
  model.layers[0].left.trainable = False
  assert summary_table.param_counts(model) == summary_table.ParamCounts(
      31, 16, 15)


def test_summary_of_a_plain_module_is_one_row():
  rows = summary_table.layer_rows(_Pair(), [4])
  assert [(r.name, r.output_shape, r.params) for r in rows] == [
      ("pair", (None, 5), 25)]


def test_frozen_sequential_counts_every_param_as_non_trainable():
  model = Sequential([Dense(3), Dense(1)], trainable=False)
  model.build([2])
  assert model.trainable_variables == ()
  assert summary_table.param_counts(model) == summary_table.ParamCounts(
      13, 0, 13)


def test_param_counts_of_an_unbuilt_model_names_the_fix():
  with pytest.raises(NotBuiltError, match="call it once on an input"):
    summary_table.param_counts(Sequential([Dense(3)]))


# -- Sequential -------------------------------------------------------------


def test_sequential_add_layers_and_call():
  model = Sequential(name="net")
  model.add(Dense(3, kernel_initializer="ones"))
  model.add(Scale(2.0))
  assert [type(m).__name__ for m in model.layers] == ["Dense", "Scale"]
  model.layers.append(Dense(1))  # A copy: the model is unchanged.
  assert len(model.layers) == 2
  assert_allclose(model(tf.ones([1, 2])), [[4.0, 4.0, 4.0]])
  with pytest.raises(TypeError, match="wrap a function in .*Lambda"):
    model.add(lambda x: x)


def test_sequential_without_layers_is_identity():
  assert_allclose(Sequential()(tf.ones([2, 3])), np.ones((2, 3)))


def test_sequential_passes_training_to_each_layer():
  model = Sequential([Dropout(0.5, seed=1), Lambda(tf.identity)])
  x = tf.ones([50, 40])
  assert_allclose(model(x), x)
  dropped = model(x, training=True).numpy()
  assert (dropped == 0).any() and (dropped == 2.0).any()


def test_intermediate_outputs_give_each_layers_output():
  model = Sequential([Conv2D(4, 3), MaxPool2D(2), Flatten()])
  pairs = model.intermediate_outputs(tf.ones([2, 8, 8, 1]))
  assert [layer for layer, _ in pairs] == model.layers
  assert [tuple(out.shape) for _, out in pairs] == [
      (2, 6, 6, 4), (2, 3, 3, 4), (2, 36)]
  assert_allclose(pairs[-1][1], model(tf.ones([2, 8, 8, 1])))


def test_build_with_none_dims_creates_variables_once():
  model = Sequential([Embedding(50, 4), Conv1D(3, 2, padding="causal"),
                      GlobalAveragePooling1D(), Dense(1)])
  model.build([None], tf.int32)
  assert model.input_shape == (None,)
  variables = [id(v) for v in model.variables]
  assert len(variables) == 5
  assert model(tf.zeros([3, 7], tf.int32)).shape == (3, 1)
  assert [id(v) for v in model.variables] == variables


class _CountingDense(Dense):

  def __init__(self, units):
    super().__init__(units)
    self.builds = 0

  def _build(self, x):
    self.builds += 1
    super()._build(x)


def test_lazy_build_runs_once_under_tf_function():
  counting = _CountingDense(2)
  model = Sequential([Conv1D(3, 2, padding="same"), GlobalMaxPooling1D(),
                      counting])
  step = tf.function(lambda x: model(x), input_signature=[
      tf.TensorSpec([None, 5, 4], tf.float32)])
  first = step(tf.ones([2, 5, 4]))
  variables = [id(v) for v in model.variables]
  second = step(tf.ones([7, 5, 4]))
  eager = model(tf.ones([3, 5, 4]))
  assert (first.shape, second.shape, eager.shape) == ((2, 2), (7, 2), (3, 2))
  assert counting.builds == 1
  assert len(variables) == 4
  assert [id(v) for v in model.variables] == variables
  assert_allclose(second[:2], first)


@pytest.mark.parametrize("strategy_name", ["default", "one_device", "mirrored"])
def test_sequential_gradients_match_under_each_strategy(strategy_name):
  strategy = testing.strategies()[strategy_name]
  ids = tf.constant([[1, 2, 3, 4], [4, 3, 2, 0]])
  with strategy.scope():
    tf.random.set_seed(5)
    model = Sequential([Embedding(6, 3), Conv1D(2, 2, padding="causal"),
                        GlobalAveragePooling1D(), Dense(1)])
    model.build([4], tf.int32)

  @tf.function
  def grads(batch):
    def replica_step(x):
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
      return [tf.convert_to_tensor(g) for g in
              tape.gradient(loss, model.trainable_variables)]
    per_replica = strategy.run(replica_step, args=(batch,))
    return [strategy.reduce("SUM", g, axis=None) for g in per_replica]

  dataset = tf.data.Dataset.from_tensors(ids).unbatch().batch(2)
  batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
  result = grads(batch)
  tf.random.set_seed(5)
  reference = Sequential([Embedding(6, 3), Conv1D(2, 2, padding="causal"),
                          GlobalAveragePooling1D(), Dense(1)])
  reference.build([4], tf.int32)
  for v, v_ref in zip(model.trainable_variables,
                      reference.trainable_variables):
    assert_allclose(v, v_ref)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(reference(ids))
  expected = tape.gradient(loss, reference.trainable_variables)
  for g, g_ref in zip(result, expected):
    assert_allclose(g, tf.convert_to_tensor(g_ref))
