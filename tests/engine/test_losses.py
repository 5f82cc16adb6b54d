"""Per-example losses vs NumPy and Keras; global-batch averaging under
MirroredStrategy."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import losses
from engine import optimizers
from tests import testing

Y_REG = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], np.float32)
P_REG = np.array([[1.5, 0.0], [0.2, -1.0], [0.0, 3.0]], np.float32)
LABELS01 = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
PROBS01 = np.array([[0.9], [0.2], [0.4], [0.7]], np.float32)
LOGITS01 = np.array([[2.0], [-1.0], [0.3], [1.5]], np.float32)
CLASS_IDS = np.array([2, 0, 1], np.int32)
ONE_HOT = np.eye(3, dtype=np.float32)[CLASS_IDS]
CLASS_PROBS = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]],
                       np.float32)
CLASS_LOGITS = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [0.1, 0.2, 0.3]],
                        np.float32)


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _huber(error, delta):
  a = np.abs(error)
  return np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2)


def _bce(y, p):
  p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
  return -(y * np.log(p) + (1 - y) * np.log(1 - p))


NUMPY_CASES = {
    "mse": (losses.mean_squared_error, {}, Y_REG, P_REG,
            ((P_REG - Y_REG)**2).mean(-1)),
    "mae": (losses.mean_absolute_error, {}, Y_REG, P_REG,
            np.abs(P_REG - Y_REG).mean(-1)),
    "huber": (losses.huber, {}, Y_REG, P_REG,
              _huber(P_REG - Y_REG, 1.0).mean(-1)),
    "huber_delta2": (losses.huber, {"delta": 2.0}, Y_REG, P_REG,
                     _huber(P_REG - Y_REG, 2.0).mean(-1)),
    "bce_probs": (losses.binary_crossentropy, {}, LABELS01, PROBS01,
                  _bce(LABELS01, PROBS01)[:, 0]),
    "bce_logits": (losses.binary_crossentropy, {"from_logits": True},
                   LABELS01, LOGITS01,
                   _bce(LABELS01, 1 / (1 + np.exp(-LOGITS01)))[:, 0]),
    "cce_probs": (losses.categorical_crossentropy, {}, ONE_HOT, CLASS_PROBS,
                  -np.log(CLASS_PROBS[np.arange(3), CLASS_IDS])),
    "cce_logits": (losses.categorical_crossentropy, {"from_logits": True},
                   ONE_HOT, CLASS_LOGITS,
                   -np.log(_softmax(CLASS_LOGITS)[np.arange(3), CLASS_IDS])),
    "cce_smoothing": (
        losses.categorical_crossentropy, {"label_smoothing": 0.3}, ONE_HOT,
        CLASS_PROBS, -((ONE_HOT * 0.7 + 0.1) * np.log(CLASS_PROBS)).sum(-1)),
    "sparse_probs": (losses.sparse_categorical_crossentropy, {}, CLASS_IDS,
                     CLASS_PROBS,
                     -np.log(CLASS_PROBS[np.arange(3), CLASS_IDS])),
    "sparse_logits": (
        losses.sparse_categorical_crossentropy, {"from_logits": True},
        CLASS_IDS, CLASS_LOGITS,
        -np.log(_softmax(CLASS_LOGITS)[np.arange(3), CLASS_IDS])),
}


@pytest.mark.parametrize("case", list(NUMPY_CASES), ids=list(NUMPY_CASES))
def test_loss_matches_closed_form(case):
  fn, kwargs, y_true, y_pred, expected = NUMPY_CASES[case]
  actual = fn(y_true, y_pred, **kwargs)
  assert actual.shape == (len(y_true),)
  testing.assert_allclose(actual, expected, atol=1e-6)


KERAS_CASES = {
    "mse": ("mse", {}, keras.losses.mean_squared_error, Y_REG, P_REG),
    "mae": ("mae", {}, keras.losses.mean_absolute_error, Y_REG, P_REG),
    "huber": ("huber", {"delta": 0.5}, keras.losses.huber, Y_REG, P_REG),
    "bce_probs": ("binary_crossentropy", {}, keras.losses.binary_crossentropy,
                  LABELS01, PROBS01),
    "bce_logits": ("binary_crossentropy", {"from_logits": True},
                   keras.losses.binary_crossentropy, LABELS01, LOGITS01),
    "cce_probs": ("categorical_crossentropy", {},
                  keras.losses.categorical_crossentropy, ONE_HOT,
                  CLASS_PROBS),
    "cce_logits_smoothing": (
        "categorical_crossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        keras.losses.categorical_crossentropy, ONE_HOT, CLASS_LOGITS),
    "sparse_probs": ("sparse_categorical_crossentropy", {},
                     keras.losses.sparse_categorical_crossentropy, CLASS_IDS,
                     CLASS_PROBS),
    "sparse_logits": ("sparse_categorical_crossentropy", {"from_logits": True},
                      keras.losses.sparse_categorical_crossentropy,
                      CLASS_IDS, CLASS_LOGITS),
}


@pytest.mark.parametrize("case", list(KERAS_CASES), ids=list(KERAS_CASES))
def test_loss_matches_keras(case):
  name, kwargs, keras_fn, y_true, y_pred = KERAS_CASES[case]
  ours = losses.get(name, **kwargs)(y_true, y_pred)
  testing.assert_allclose(ours, keras_fn(y_true, y_pred, **kwargs),
                          atol=1e-6)
  assert ours.shape == (len(y_true),)


@pytest.mark.parametrize("from_logits", [False, True],
                         ids=["probs", "logits"])
def test_extreme_predictions_stay_finite_and_match_keras(from_logits):
  labels = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
  if from_logits:
    preds = np.array([[-200.0], [200.0], [200.0], [-200.0]], np.float32)
  else:
    preds = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
  ours = losses.binary_crossentropy(labels, preds, from_logits=from_logits)
  assert np.all(np.isfinite(ours))
  testing.assert_allclose(
      ours, keras.losses.binary_crossentropy(labels, preds,
                                             from_logits=from_logits),
      atol=1e-4)
  one_hot = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
  probs = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
  assert np.all(np.isfinite(losses.categorical_crossentropy(one_hot, probs)))
  assert np.all(np.isfinite(
      losses.sparse_categorical_crossentropy([0, 1], probs)))
  testing.assert_allclose(
      losses.categorical_crossentropy(one_hot, probs),
      keras.losses.categorical_crossentropy(one_hot, probs), atol=1e-4)


def test_gradient_through_clipped_probabilities_is_finite():
  probs = tf.Variable([[0.0], [1.0]])
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(losses.binary_crossentropy([[1.0], [1.0]], probs))
  assert np.all(np.isfinite(tape.gradient(loss, probs)))


@pytest.mark.parametrize("labels", [
    CLASS_IDS, CLASS_IDS.reshape(3, 1), CLASS_IDS.astype(np.int64),
    CLASS_IDS.astype(np.float32).reshape(3, 1), CLASS_IDS.astype(np.uint8)],
    ids=["int32_b", "int32_b1", "int64_b", "float32_b1", "uint8_b"])
def test_sparse_labels_of_any_shape_and_dtype(labels):
  expected = keras.losses.sparse_categorical_crossentropy(CLASS_IDS,
                                                          CLASS_PROBS)
  testing.assert_allclose(
      losses.sparse_categorical_crossentropy(labels, CLASS_PROBS), expected,
      atol=1e-6)


def test_binary_labels_b_against_predictions_b1():
  flat = LABELS01[:, 0]
  testing.assert_allclose(losses.binary_crossentropy(flat, PROBS01),
                          losses.binary_crossentropy(LABELS01, PROBS01))
  testing.assert_allclose(losses.binary_crossentropy(flat.astype(np.int32),
                                                     PROBS01),
                          _bce(LABELS01, PROBS01)[:, 0])
  testing.assert_allclose(losses.mean_squared_error(flat, PROBS01),
                          (PROBS01[:, 0] - flat)**2)


def test_sequence_targets_reduce_to_one_value_per_example():
  rng = np.random.default_rng(0)
  y_true = rng.normal(size=(2, 5, 1)).astype(np.float32)
  y_pred = rng.normal(size=(2, 5, 1)).astype(np.float32)
  for name, keras_fn in [("mse", keras.losses.mean_squared_error),
                         ("mae", keras.losses.mean_absolute_error),
                         ("huber", keras.losses.huber)]:
    ours = losses.get(name)(y_true, y_pred)
    assert ours.shape == (2,)
    keras_per_step = np.asarray(keras_fn(y_true, y_pred))  # [B, T]
    testing.assert_allclose(ours, keras_per_step.mean(-1), atol=1e-6)


def test_mismatched_shapes_raise():
  with pytest.raises(ValueError, match="same shape"):
    losses.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 4)))
  with pytest.raises(ValueError, match="class axis"):
    losses.sparse_categorical_crossentropy(np.zeros((3, 2)), CLASS_PROBS)


def test_get_resolves_names_and_rejects_unknown():
  assert losses.get("mse") is losses.mean_squared_error
  assert losses.get("MEAN_ABSOLUTE_ERROR") is losses.mean_absolute_error
  bce = losses.get("binary_crossentropy", from_logits=True)
  assert bce.__name__ == "binary_crossentropy"
  testing.assert_allclose(
      bce(LABELS01, LOGITS01),
      losses.binary_crossentropy(LABELS01, LOGITS01, from_logits=True))
  with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
    losses.get("hinge")
  with pytest.raises(ValueError, match="delta"):
    losses.get("huber", from_logits=True)


def test_compute_average_loss_uses_the_global_batch():
  per_example = tf.constant([1.0, 2.0, 6.0])  # a partial last batch
  testing.assert_allclose(losses.compute_average_loss(per_example, 5), 1.8)
  testing.assert_allclose(
      losses.compute_average_loss(per_example, tf.constant(3)), 3.0)
  testing.assert_allclose(losses.compute_average_loss(tf.zeros([0]), 0), 0.0)


def test_regularization_without_strategy_is_the_plain_sum():
  testing.assert_allclose(
      losses.scale_regularization_loss([tf.constant(1.5), tf.constant(0.5)]),
      2.0)
  testing.assert_allclose(losses.scale_regularization_loss([]), 0.0)
  testing.assert_allclose(losses.global_batch_size(7), 7)


# -- distribution: 2 replicas == 1 device --------------------------------

X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [-1.0, 1.0], [0.0, 3.0]],
             np.float32)
Y = np.array([[1.0], [0.0], [2.0], [-1.0], [1.5]], np.float32)
W0 = np.array([[0.3], [-0.2]], np.float32)
B0 = np.array([0.1], np.float32)
L2 = 0.05


def _replica_loss(x, y, w, b):
  per_example = losses.mean_squared_error(y, tf.matmul(x, w) + b)
  global_size = losses.global_batch_size(tf.shape(x)[0])
  return (losses.compute_average_loss(per_example, global_size)
          + losses.scale_regularization_loss([L2 * tf.reduce_sum(w**2)]))


def _single_device_step():
  w, b = tf.Variable(W0), tf.Variable(B0)
  with tf.GradientTape() as tape:
    loss = (tf.reduce_mean((X @ w + b - Y)**2) + L2 * tf.reduce_sum(w**2))
  grads = tape.gradient(loss, [w, b])
  optimizers.SGD(0.1).apply(grads, [w, b])
  return loss, grads, [w.numpy(), b.numpy()]


def test_mirrored_loss_gradients_and_step_equal_one_device():
  strategy = testing.mirrored_strategy()
  with strategy.scope():
    w, b = tf.Variable(W0), tf.Variable(B0)
    optimizer = optimizers.SGD(0.1)
    optimizer.build([w, b])

  def split(context):  # 3 examples on replica 0, 2 on replica 1
    rows = slice(0, 3) if context.replica_id_in_sync_group == 0 else slice(3, 5)
    return X[rows], Y[rows]

  batch = strategy.experimental_distribute_values_from_function(split)

  def replica_step(x, y):
    with tf.GradientTape() as tape:
      loss = _replica_loss(x, y, w, b)
    grads = tape.gradient(loss, [w, b])
    context = tf.distribute.get_replica_context()
    summed = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    optimizer.apply(grads, [w, b])
    return loss, summed, losses.global_batch_size(tf.shape(x)[0])

  @tf.function
  def step(batch):
    loss, grads, size = strategy.run(replica_step, args=batch)
    return strategy.reduce("SUM", loss, axis=None), grads, size

  loss, grads, size = step(batch)
  expected_loss, expected_grads, expected_vars = _single_device_step()
  assert [int(s) for s in strategy.experimental_local_results(size)] == [5, 5]
  testing.assert_allclose(loss, expected_loss, atol=1e-6)
  for got, want in zip(grads, expected_grads):
    for part in strategy.experimental_local_results(got):
      testing.assert_allclose(part, want, atol=1e-6)
  testing.assert_allclose(w.numpy(), expected_vars[0], atol=1e-6)
  testing.assert_allclose(b.numpy(), expected_vars[1], atol=1e-6)


def test_mirrored_regularization_is_counted_once():
  strategy = testing.mirrored_strategy()

  @tf.function
  def total_regularization():
    per_replica = strategy.run(
        lambda: losses.scale_regularization_loss([tf.constant(3.0)]))
    return strategy.reduce("SUM", per_replica, axis=None)

  testing.assert_allclose(total_regularization(), 3.0)
