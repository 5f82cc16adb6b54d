"""Concatenate, Add, Activation, AveragePooling2D and global max pooling."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from engine.modules.activation import Activation
from engine.modules.merge import Add, Concatenate
from engine.modules.conv import Conv1D
from engine.modules.pool import (AveragePooling2D, GlobalMaxPooling1D,
                                 GlobalMaxPooling2D, MaxPool2D)
from tests import testing


def _images(shape=(2, 7, 7, 3), seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


class MergeTest(tf.test.TestCase):

  def test_concatenate_joins_channels(self):
    a, b = _images(), _images(shape=(2, 7, 7, 5), seed=1)
    y = Concatenate(name="mixed0")([a, b])
    self.assertEqual(y.shape, (2, 7, 7, 8))
    testing.assert_allclose(y, keras.layers.Concatenate()([a, b]))

  def test_concatenate_rejects_mismatched_shapes(self):
    with self.assertRaisesRegex(ValueError, "must match except on axis"):
      Concatenate()([_images(), _images(shape=(2, 6, 7, 3))])
    with self.assertRaisesRegex(ValueError, "at least 2 tensors"):
      Concatenate()([_images()])

  def test_add_sums(self):
    a, b = _images(), _images(seed=2)
    testing.assert_allclose(Add()([a, b]), a + b)
    with self.assertRaisesRegex(ValueError, "one shape"):
      Add()([a, _images(shape=(2, 7, 7, 4))])

  def test_activation_layer(self):
    x = _images()
    testing.assert_allclose(Activation("relu")(x), np.maximum(x, 0))


class AveragePoolingTest(tf.test.TestCase):

  def test_same_padding_matches_keras(self):
    x = _images()
    ours = AveragePooling2D(3, strides=1, padding="same")(x)
    theirs = keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)
    self.assertEqual(ours.shape, x.shape)
    testing.assert_allclose(ours, theirs)
    # The corner averages only the 4 real pixels of its window.
    testing.assert_allclose(ours[:, 0, 0], x[:, :2, :2].mean(axis=(1, 2)))

  def test_valid_strided_pools_match_keras(self):
    x = _images(shape=(1, 9, 9, 2))
    testing.assert_allclose(
        AveragePooling2D(3, strides=2)(x),
        keras.layers.AveragePooling2D(3, strides=2)(x))
    testing.assert_allclose(MaxPool2D(3, strides=2)(x),
                            keras.layers.MaxPooling2D(3, strides=2)(x))

  def test_bad_padding(self):
    with self.assertRaisesRegex(ValueError, "padding"):
      AveragePooling2D(2, padding="full")


class GlobalMaxPoolingTest(tf.test.TestCase):

  def test_values_equal_reduce_max_for_any_shape(self):
    x = _images(shape=(2, 9, 3))
    testing.assert_allclose(GlobalMaxPooling1D(keepdims=True)(x),
                            x.max(axis=1, keepdims=True), atol=0)
    images = _images()
    testing.assert_allclose(GlobalMaxPooling2D()(images),
                            images.max(axis=(1, 2)), atol=0)
    any_length = tf.function(GlobalMaxPooling1D().__call__,
                             input_signature=[tf.TensorSpec([None, None, 3])])
    testing.assert_allclose(any_length(x), x.max(axis=1), atol=0)

  def test_tied_maxima_give_the_kernel_gradient_of_reduce_max(self):
    # Steps 0-5 are one padding vector: the convolution's windows there are
    # identical and, for the channels it favours, tie for the maximum.
    x = _images(shape=(2, 10, 2))
    x[:, :6] = 3.0
    conv = Conv1D(4, 2)

    def kernel_gradient(pool):
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pool(conv(x)) * [1.0, 2.0, 3.0, 4.0])
      return tape.gradient(loss, conv.variables)

    features = conv(x).numpy()
    tied = (features == features.max(axis=1, keepdims=True)).sum(axis=1)
    self.assertGreater(tied.max(), 1)
    for ours, split in zip(
        kernel_gradient(GlobalMaxPooling1D()),
        kernel_gradient(lambda y: tf.reduce_max(y, axis=1))):
      testing.assert_allclose(ours, split, atol=1e-5)
