"""BatchNormalization, merges, Activation and AveragePooling2D under a mixed
policy: float32 variables, BN math in float32 (as Keras 3), low-precision
inputs accepted."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import mixed_precision
from engine.modules.activation import Activation
from engine.modules.merge import Add, Concatenate
from engine.modules.norm import BatchNormalization
from engine.modules.pool import AveragePooling2D
from tests import testing

LOW = {"mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}
# One bfloat16 rounding step (8 bits of mantissa) on values of size ~3.
LOW_TOLERANCE = 3e-2


def _images(shape=(4, 3, 3, 2), seed=0, scale=1.0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=shape) * scale).astype(np.float32)


@pytest.mark.parametrize("policy", sorted(LOW))
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_keras_under_mixed_policy(policy, training):
  with mixed_precision.policy_scope(policy):
    ours = BatchNormalization(momentum=0.9)
  theirs = keras.layers.BatchNormalization(momentum=0.9, dtype=policy)
  x = _images(scale=3.0) + 2.0
  y_ours, y_theirs = ours(x, training=training), theirs(x, training=training)
  assert y_ours.dtype == LOW[policy]
  assert y_theirs.dtype == y_ours.dtype        # Keras: output in compute dtype
  testing.assert_allclose(tf.cast(y_ours, tf.float32),
                          tf.cast(y_theirs, tf.float32),
                          atol=LOW_TOLERANCE, rtol=LOW_TOLERANCE)
  for variable in ours.variables:
    assert variable.dtype == tf.float32
  assert {w.dtype for w in theirs.weights} == {"float32"}
  # The moving statistics are float32 sums of the (low-precision) input.
  testing.assert_allclose(ours.moving_mean, theirs.moving_mean, atol=1e-4)
  testing.assert_allclose(ours.moving_variance, theirs.moving_variance,
                          atol=1e-3)


def test_batch_norm_computes_in_float32_where_float16_overflows():
  # Deviations of ~1000 square to ~1e6, beyond float16's 65504: a float16
  # variance would be inf and the output 0 or nan.
  x = tf.constant(_images(scale=1000.0), tf.float16)
  assert not np.isfinite(tf.nn.moments(x, [0, 1, 2])[1].numpy()).all()
  with mixed_precision.policy_scope("mixed_float16"):
    bn = BatchNormalization()
  y = bn(x, training=True)
  assert y.dtype == tf.float16
  std = tf.math.reduce_std(tf.cast(y, tf.float32), axis=[0, 1, 2]).numpy()
  np.testing.assert_allclose(std, 1.0, atol=0.01)
  assert np.isfinite(bn.moving_variance.numpy()).all()


def test_batch_norm_gradients_reach_float32_variables():
  with mixed_precision.policy_scope("mixed_bfloat16"):
    bn = BatchNormalization()
  x = tf.constant(_images(), tf.bfloat16)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tf.cast(bn(x, training=True), tf.float32) * 2.0)
  gamma_grad, beta_grad = tape.gradient(loss, [bn.gamma, bn.beta])
  assert gamma_grad.dtype == beta_grad.dtype == tf.float32
  # d/dbeta of sum(2 * y) is 2 per element: 4 * 3 * 3 elements per channel.
  testing.assert_allclose(beta_grad, [72.0, 72.0], atol=1e-3)


def _low_pair():
  return (tf.constant(_images(), tf.bfloat16),
          tf.constant(_images(seed=1), tf.bfloat16))


@pytest.mark.parametrize("make, reference", [
    (Concatenate, lambda a, b: np.concatenate([a, b], axis=-1)),
    (Add, lambda a, b: a + b),
], ids=["concatenate", "add"])
def test_merges_take_bfloat16_inputs(make, reference):
  a, b = _low_pair()
  expected = reference(tf.cast(a, tf.float32).numpy(),
                       tf.cast(b, tf.float32).numpy())
  y = make()([a, b])
  assert y.dtype == tf.bfloat16
  testing.assert_allclose(tf.cast(y, tf.float32), expected,
                          atol=LOW_TOLERANCE, rtol=LOW_TOLERANCE)
  with mixed_precision.policy_scope("mixed_bfloat16"):
    mixed = make()
  # A float32 branch beside a bfloat16 one is cast, as Keras autocasts.
  y = mixed([tf.cast(a, tf.float32), b])
  assert y.dtype == tf.bfloat16


def test_activation_and_average_pooling_take_bfloat16_inputs():
  x = tf.constant(_images(shape=(2, 5, 5, 3)), tf.bfloat16)
  x32 = tf.cast(x, tf.float32)
  relu = Activation("relu")(x)
  assert relu.dtype == tf.bfloat16
  testing.assert_allclose(tf.cast(relu, tf.float32), tf.nn.relu(x32))
  pool = AveragePooling2D(3, strides=1, padding="same")
  pooled = pool(x)
  assert pooled.dtype == tf.bfloat16
  testing.assert_allclose(
      tf.cast(pooled, tf.float32),
      tf.nn.avg_pool2d(x32, 3, 1, "SAME"), atol=LOW_TOLERANCE,
      rtol=LOW_TOLERANCE)
  with mixed_precision.policy_scope("mixed_bfloat16"):
    mixed_pool = AveragePooling2D(2)
    mixed_relu = Activation("relu")
  assert mixed_pool(x32).dtype == tf.bfloat16
  assert mixed_relu(x32).dtype == tf.bfloat16
