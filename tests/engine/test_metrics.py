"""Metrics: Keras values, example weighting, reset, MirroredStrategy."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import metrics
from tests import testing

RNG = np.random.default_rng(0)
BINARY_TRUE = np.array([[1], [0], [1], [0], [1]], np.float32)
BINARY_PRED = np.array([[0.9], [0.6], [0.3], [0.1], [0.5]], np.float32)
SPARSE_TRUE = np.array([2, 0, 1, 1, 0], np.int32)
CLASS_PRED = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4],
                       [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]], np.float32)
ONE_HOT_TRUE = np.eye(3, dtype=np.float32)[SPARSE_TRUE]
REG_TRUE = RNG.normal(size=(5, 2)).astype(np.float32)
REG_PRED = RNG.normal(size=(5, 2)).astype(np.float32)
WEIGHTS = np.array([1.0, 0.0, 2.0, 0.5, 1.0], np.float32)

# name -> (ours, Keras's, y_true, y_pred)
CASES = {
    "binary_accuracy": (metrics.BinaryAccuracy, keras.metrics.BinaryAccuracy,
                        BINARY_TRUE, BINARY_PRED),
    "categorical_accuracy": (metrics.CategoricalAccuracy,
                             keras.metrics.CategoricalAccuracy,
                             ONE_HOT_TRUE, CLASS_PRED),
    "sparse_categorical_accuracy": (
        metrics.SparseCategoricalAccuracy,
        keras.metrics.SparseCategoricalAccuracy, SPARSE_TRUE, CLASS_PRED),
    "sparse_labels_b1": (
        metrics.SparseCategoricalAccuracy,
        keras.metrics.SparseCategoricalAccuracy, SPARSE_TRUE.reshape(5, 1),
        CLASS_PRED),
    "mae": (metrics.MeanAbsoluteError, keras.metrics.MeanAbsoluteError,
            REG_TRUE, REG_PRED),
    "mse": (metrics.MeanSquaredError, keras.metrics.MeanSquaredError,
            REG_TRUE, REG_PRED),
}
SPLITS = [(0, 1), (1, 5)]  # batches of 1 and 4 examples


@pytest.mark.parametrize("weighted", [False, True],
                         ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras_over_uneven_batches(case, weighted):
  ours_class, keras_class, y_true, y_pred = CASES[case]
  ours, theirs = ours_class(), keras_class()
  for start, stop in SPLITS:
    weight = WEIGHTS[start:stop] if weighted else None
    ours.update(y_true[start:stop], y_pred[start:stop], sample_weight=weight)
    theirs.update_state(y_true[start:stop], y_pred[start:stop],
                        sample_weight=weight)
  testing.assert_allclose(ours.result(), theirs.result(), atol=1e-6)


def test_is_example_weighted_not_a_mean_of_batch_means():
  accuracy = metrics.BinaryAccuracy()
  accuracy.update([[1.0]], [[0.9]])  # 1 of 1 right
  accuracy.update([[1.0], [1.0], [0.0]], [[0.1], [0.2], [0.9]])  # 0 of 3
  testing.assert_allclose(accuracy.result(), 0.25)  # batch means: 0.5
  mean = metrics.Mean()
  mean.update([1.0, 2.0, 3.0])
  mean.update([10.0])
  testing.assert_allclose(mean.result(), 4.0)
  mean.update([5.0], sample_weight=[2.0])
  testing.assert_allclose(mean.result(), 26.0 / 6.0)


def test_mean_averages_each_example_over_its_axes():
  values = np.array([[1.0, 3.0], [5.0, 7.0], [0.0, 0.0]], np.float32)
  ours, theirs = metrics.Mean(), keras.metrics.Mean()
  ours.update(values, sample_weight=[1.0, 2.0, 1.0])
  theirs.update_state(values, sample_weight=[1.0, 2.0, 1.0])
  testing.assert_allclose(ours.result(), theirs.result())
  testing.assert_allclose(ours.result(), (2.0 + 2 * 6.0) / 4.0)


def test_sequence_predictions_match_keras():
  y_true = RNG.normal(size=(3, 4, 1)).astype(np.float32)
  y_pred = RNG.normal(size=(3, 4, 1)).astype(np.float32)
  for ours, theirs in [(metrics.MeanAbsoluteError(),
                        keras.metrics.MeanAbsoluteError()),
                       (metrics.MeanSquaredError(),
                        keras.metrics.MeanSquaredError())]:
    ours.update(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    testing.assert_allclose(ours.result(), theirs.result(), atol=1e-6)


def test_reset_starts_over():
  metric = metrics.MeanAbsoluteError()
  testing.assert_allclose(metric.result(), 0.0)
  metric.update([[1.0]], [[3.0]])
  metric.reset()
  testing.assert_allclose(metric.result(), 0.0)
  metric.update([[1.0]], [[1.5]])
  testing.assert_allclose(metric.result(), 0.5)


def test_update_inside_tf_function():
  metric = metrics.SparseCategoricalAccuracy()
  update = tf.function(metric.update)
  update(SPARSE_TRUE[:2], CLASS_PRED[:2])
  update(SPARSE_TRUE[2:], CLASS_PRED[2:])
  testing.assert_allclose(metric.result(), 3.0 / 5.0)


def test_variables_are_on_read_sum_and_not_trainable():
  metric = metrics.Mean()
  assert metric.trainable_variables == ()
  for var in (metric.total, metric.count):
    assert var.synchronization == tf.VariableSynchronization.ON_READ
    assert var.aggregation == tf.VariableAggregation.SUM


@pytest.mark.parametrize("case", ["binary_accuracy", "sparse_labels_b1",
                                  "mse"],
                         ids=["binary_accuracy", "sparse_labels_b1", "mse"])
def test_mirrored_updates_equal_one_device(case):
  ours_class, _, y_true, y_pred = CASES[case]
  single = ours_class()
  single.update(y_true, y_pred, sample_weight=WEIGHTS)

  strategy = testing.mirrored_strategy()
  with strategy.scope():
    metric = ours_class()

  def split(context):  # 3 examples on replica 0, 2 on replica 1
    rows = slice(0, 3) if context.replica_id_in_sync_group == 0 else slice(3, 5)
    return y_true[rows], y_pred[rows], WEIGHTS[rows]

  batch = strategy.experimental_distribute_values_from_function(split)

  @tf.function
  def step(batch):
    strategy.run(metric.update, args=batch)

  step(batch)
  testing.assert_allclose(metric.result(), single.result(), atol=1e-6)
  with strategy.scope():
    metric.reset()
    testing.assert_allclose(metric.result(), 0.0)
  step(batch)
  step(batch)
  testing.assert_allclose(metric.result(), single.result(), atol=1e-6)
  testing.assert_allclose(metric.count.read_value(), 2 * WEIGHTS.sum())


@pytest.mark.parametrize("loss_name, expected", [
    ("binary_crossentropy", metrics.BinaryAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
], ids=["binary", "categorical", "sparse"])
def test_accuracy_resolves_from_the_loss(loss_name, expected):
  for alias in ("accuracy", "acc"):
    metric = metrics.get(alias, loss_name=loss_name)
    assert type(metric) is expected
    assert metric.name == "accuracy"


def test_get_names_and_errors():
  assert metrics.get("mae").name == "mae"
  assert isinstance(metrics.get("mean_squared_error"),
                    metrics.MeanSquaredError)
  assert metrics.get("mse").name == "mse"
  assert metrics.get("loss").name == "loss"
  assert metrics.get("binary_accuracy").name == "binary_accuracy"
  with pytest.raises(ValueError, match="mae"):
    metrics.get("auc")
  with pytest.raises(ValueError, match="loss_name=None"):
    metrics.get("accuracy")
  with pytest.raises(ValueError, match="'mse'"):
    metrics.get("accuracy", loss_name="mse")
