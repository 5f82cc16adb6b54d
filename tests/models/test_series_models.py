"""Registered basic and series models against the same Keras models."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import registry


def _keras_series_dnn():
  return keras.Sequential([
      keras.Input((20,)),
      keras.layers.Dense(100, activation="relu"),
      keras.layers.Dense(10, activation="relu"),
      keras.layers.Dense(1),
  ])


def _keras_series_rnn():
  return keras.Sequential([
      keras.Input((20,)),
      keras.layers.Reshape((20, 1)),
      keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=True)),
      keras.layers.Bidirectional(keras.layers.LSTM(32)),
      keras.layers.Dense(1),
      keras.layers.Rescaling(100.0),
  ])


def _keras_series_conv_lstm():
  return keras.Sequential([
      keras.Input((60, 1)),
      keras.layers.Conv1D(60, kernel_size=5, strides=1, padding="causal",
                          activation="relu"),
      keras.layers.LSTM(60, return_sequences=True),
      keras.layers.LSTM(60, return_sequences=True),
      keras.layers.Dense(30, activation="relu"),
      keras.layers.Dense(10, activation="relu"),
      keras.layers.Dense(1),
      keras.layers.Rescaling(400.0),
  ])


def _keras_single_neuron(num_features):
  return keras.Sequential([keras.Input((num_features,)),
                           keras.layers.Dense(1)])


CASES = {
    "series_dnn": (_keras_series_dnn, [20]),
    "series_rnn": (_keras_series_rnn, [20]),
    "series_conv_lstm": (_keras_series_conv_lstm, [60, 1]),
    "line": (lambda: _keras_single_neuron(1), [1]),
    "linear_regression": (lambda: _keras_single_neuron(3), [3]),
}


def _param_count(module) -> int:
  return sum(int(np.prod(v.shape)) for v in module.trainable_variables)


def _built_model(name, input_shape):
  recipe = registry.get(name)
  model = recipe.build_model(recipe.hparams)
  model.build(input_shape)
  return model


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_shape_and_param_count_equal_keras(name):
  make_keras, input_shape = CASES[name]
  model = _built_model(name, input_shape)
  reference = make_keras()
  x = np.zeros([2] + input_shape, np.float32)
  assert tuple(model(x).shape) == tuple(reference(x).shape)
  assert _param_count(model) == reference.count_params()


@pytest.mark.parametrize("name", ["series_dnn", "series_rnn",
                                  "series_conv_lstm"],
                         ids=["dnn", "rnn", "conv_lstm"])
def test_model_takes_its_bundles_batches(name):
  recipe = registry.get(name)
  bundle = recipe.make_data(recipe.hparams)
  features, labels = next(iter(bundle.validation))
  outputs = recipe.build_model(recipe.hparams)(features[:2])
  # One forecast per label: [b, 1] for a scalar label, [b, w, 1] for seq2seq.
  assert outputs.shape[:labels.shape.rank] == labels[:2].shape
  assert outputs.shape[-1] == 1
  assert bundle.info.seq2seq == (name == "series_conv_lstm")


@pytest.mark.parametrize("name, loss, lr, batch, window", [
    ("series_dnn", "mse", 1e-6, 32, 20),
    ("series_rnn", "huber", 1e-5, 32, 20),
    ("series_conv_lstm", "huber", 1e-5, 100, 60),
], ids=["dnn", "rnn", "conv_lstm"])
def test_series_recipes_carry_the_course_settings(name, loss, lr, batch,
                                                  window):
  recipe = registry.get(name)
  assert (recipe.loss, recipe.metrics, recipe.optimizer) == (loss, ("mae",),
                                                             "sgd")
  assert recipe.optimizer_kwargs == {"momentum": 0.9}
  hparams = recipe.hparams
  assert (hparams["learning_rate"], hparams["batch_size"],
          hparams["window_size"]) == (lr, batch, window)
  for key in ("epochs", "shuffle_buffer", "seed", "data_path",
              "value_column", "split_time", "preset"):
    assert key in hparams, key


def test_line_data_is_the_courses_six_points():
  recipe = registry.get("line")
  bundle = recipe.make_data(recipe.hparams)
  batches = list(bundle.train(0))
  assert len(batches) == 1 == bundle.steps_per_epoch
  xs, ys = (t.numpy() for t in batches[0])
  assert xs.shape == ys.shape == (6, 1)
  np.testing.assert_array_equal(ys, 2 * xs - 1)
  assert sorted(xs[:, 0]) == [-1, 0, 1, 2, 3, 4]
  assert bundle.info.predict_x == 10.0
  assert (recipe.loss, recipe.optimizer) == ("mse", "sgd")
  assert recipe.hparams["epochs"] == 500


def test_linear_regression_data_recovers_w_true_by_least_squares():
  recipe = registry.get("linear_regression")
  bundle = recipe.make_data(recipe.hparams)
  x, y = (t.numpy() for t in next(iter(bundle.train(0))))
  assert x.shape == (1000, 3) and y.shape == (1000, 1)
  w_fit, *_ = np.linalg.lstsq(x, y[:, 0], rcond=None)
  np.testing.assert_allclose(w_fit, bundle.info.w_true, atol=0.03)
  residual = y[:, 0] - x @ bundle.info.w_true
  assert residual.std() == pytest.approx(0.2, rel=0.1)
  again = next(iter(recipe.make_data(recipe.hparams).train(0)))[0].numpy()
  np.testing.assert_array_equal(again, x)
  assert (recipe.hparams["learning_rate"], recipe.hparams["epochs"]) == (
      0.1, 300)


def test_series_dnn_matches_keras_forward_pass_with_copied_weights():
  model = _built_model("series_dnn", [20])
  reference = _keras_series_dnn()
  for layer, keras_layer in zip(model.layers, reference.layers):
    keras_layer.set_weights([layer.w.numpy(), layer.b.numpy()])
  x = np.random.RandomState(0).randn(3, 20).astype(np.float32)
  np.testing.assert_allclose(model(x).numpy(), reference(x).numpy(),
                             rtol=1e-5, atol=1e-5)
  assert isinstance(model(tf.constant(x)), tf.Tensor)


def test_in_memory_minibatch_order_depends_only_on_seed_and_epoch():
  recipe = registry.get("linear_regression")
  hparams = dict(recipe.hparams, batch_size=300)
  bundle = recipe.make_data(hparams)
  first = lambda epoch: next(iter(bundle.train(epoch)))[0].numpy()
  assert bundle.steps_per_epoch == 4
  assert [len(x) for x, _ in bundle.train(0)] == [300, 300, 300, 100]
  np.testing.assert_array_equal(first(0), first(0))
  assert not np.array_equal(first(0), first(1))
  np.testing.assert_array_equal(
      first(1), next(iter(recipe.make_data(hparams).train(1)))[0].numpy())
