"""BatchNormalization: Keras parity, the frozen rule, synchronized replicas."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from engine.freezing import set_trainable
from engine.modules.norm import BatchNormalization
from engine.modules.sequential import Sequential
from tests import testing

STEPS = 5


def _batches(seed=0, count=STEPS, shape=(6, 3, 3, 4)):
  rng = np.random.default_rng(seed)
  return [rng.normal(2.0, 3.0, shape).astype(np.float32) for _ in range(count)]


class BatchNormParityTest(tf.test.TestCase):

  def test_training_steps_match_keras(self):
    ours = BatchNormalization(momentum=0.9)
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    batches = _batches()
    ours(batches[0])
    theirs(batches[0])
    rng = np.random.default_rng(1)
    gamma = rng.uniform(0.5, 1.5, [4]).astype(np.float32)
    ours.gamma.assign(gamma)
    theirs.gamma.assign(gamma)
    weights = tf.constant(rng.normal(size=[6, 3, 3, 4]).astype(np.float32))
    for x in batches:
      with tf.GradientTape(persistent=True) as tape:
        tape.watch(x := tf.constant(x))
        y_ours = ours(x, training=True)
        y_theirs = theirs(x, training=True)
        loss_ours = tf.reduce_sum(y_ours * weights)
        loss_theirs = tf.reduce_sum(y_theirs * weights)
      testing.assert_allclose(y_ours, y_theirs)
      grads_ours = tape.gradient(loss_ours, [x, ours.gamma, ours.beta])
      grads_theirs = tape.gradient(loss_theirs,
                                   [x, theirs.gamma, theirs.beta])
      for a, b in zip(grads_ours, grads_theirs):
        testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    testing.assert_allclose(ours.moving_mean, theirs.moving_mean)
    testing.assert_allclose(ours.moving_variance, theirs.moving_variance)
    x = _batches(seed=9, count=1)[0]
    testing.assert_allclose(ours(x), theirs(x, training=False))

  def test_inference_uses_moving_statistics(self):
    bn = BatchNormalization(center=False, scale=False, epsilon=1e-3)
    x = np.full([2, 3], 5.0, np.float32)
    bn(x)
    bn.moving_mean.assign([1.0, 2.0, 3.0])
    bn.moving_variance.assign([4.0, 4.0, 4.0])
    expected = (x - [1.0, 2.0, 3.0]) / np.sqrt(4.0 + 1e-3)
    testing.assert_allclose(bn(x, training=False), expected)

  def test_inference_gradients_match_keras(self):
    # Fine-tuning runs BN in inference mode with a trainable beta; the
    # rank-4 float32 path is one FusedBatchNormV3 op.
    ours = BatchNormalization(scale=False)
    theirs = keras.layers.BatchNormalization(scale=False)
    x = tf.constant(_batches(count=1)[0])
    ours(x)
    theirs(x)
    rng = np.random.default_rng(5)
    mean = rng.normal(size=[4]).astype(np.float32)
    variance = rng.uniform(0.5, 2, [4]).astype(np.float32)
    for layer in (ours, theirs):
      layer.moving_mean.assign(mean)
      layer.moving_variance.assign(variance)
    weights = tf.constant(rng.normal(size=x.shape).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(x)
      loss_ours = tf.reduce_sum(ours(x, training=False) * weights)
      loss_theirs = tf.reduce_sum(theirs(x, training=False) * weights)
    testing.assert_allclose(loss_ours, loss_theirs, atol=1e-4)
    for a, b in zip(tape.gradient(loss_ours, [x, ours.beta]),
                    tape.gradient(loss_theirs, [x, theirs.beta])):
      testing.assert_allclose(a, b)

  def test_variables_trainable_and_not(self):
    bn = BatchNormalization(scale=False)
    bn(np.zeros([2, 5], np.float32))
    self.assertEqual([v.name.split("/")[-1] for v in bn.trainable_variables],
                     ["beta:0"])
    self.assertLen(bn.non_trainable_variables, 2)

  def test_frozen_layer_runs_in_inference_mode_when_training(self):
    bn = BatchNormalization()
    x = _batches(count=1)[0]
    bn(x)
    bn.moving_mean.assign([0.5] * 4)
    model = Sequential([bn])
    set_trainable(model, False)
    inference = bn(x, training=False)
    testing.assert_allclose(model(x, training=True), inference)
    testing.assert_allclose(bn.moving_mean, [0.5] * 4)
    keras_bn = keras.layers.BatchNormalization()
    keras_bn(x)
    keras_bn.moving_mean.assign([0.5] * 4)
    keras_bn.trainable = False
    testing.assert_allclose(keras_bn(x, training=True), inference)

  def test_training_flag_as_tensor(self):
    bn = BatchNormalization()
    x = _batches(count=1)[0]
    step = tf.function(lambda x, t: bn(x, training=t))
    testing.assert_allclose(step(x, tf.constant(False)), bn(x))
    testing.assert_allclose(step(x, tf.constant(True)), bn(x, training=True),
                            atol=1e-5)

  def test_bad_hyperparameters(self):
    with self.assertRaisesRegex(ValueError, "momentum"):
      BatchNormalization(momentum=1.5)
    with self.assertRaisesRegex(ValueError, "axis=-1"):
      BatchNormalization(axis=1)


class SynchronizedBatchNormTest(tf.test.TestCase):

  def _run_mirrored(self, synchronized, x):
    strategy = testing.mirrored_strategy()
    with strategy.scope():
      bn = BatchNormalization(synchronized=synchronized)
      bn(x[:1])
    halves = iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(len(x))))

    @tf.function
    def step(batch):
      return strategy.run(lambda b: bn(b, training=True), args=(batch,))
    outputs = step(next(halves))
    y = tf.concat(strategy.experimental_local_results(outputs), axis=0)
    return y, bn

  def test_synchronized_equals_one_device_on_global_batch(self):
    x = np.concatenate([_batches(seed=3, count=1, shape=(4, 2, 2, 3))[0],
                        _batches(seed=4, count=1, shape=(4, 2, 2, 3))[0] + 5])
    single = BatchNormalization()
    single(x[:1])
    expected = single(x, training=True)
    y, bn = self._run_mirrored(True, x)
    testing.assert_allclose(y, expected, atol=1e-5)
    testing.assert_allclose(bn.moving_mean.read_value(), single.moving_mean,
                            atol=1e-5)
    testing.assert_allclose(bn.moving_variance.read_value(),
                            single.moving_variance, atol=1e-5)

  def test_per_replica_statistics_by_default(self):
    x = np.concatenate([_batches(seed=3, count=1, shape=(4, 2, 2, 3))[0],
                        _batches(seed=4, count=1, shape=(4, 2, 2, 3))[0] + 5])
    y, _ = self._run_mirrored(False, x)
    expected = tf.concat([BatchNormalization()(x[:4], training=True),
                          BatchNormalization()(x[4:], training=True)], 0)
    testing.assert_allclose(y, expected, atol=1e-5)
