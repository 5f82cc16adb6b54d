"""Concatenate, Add, Activation and AveragePooling2D against Keras."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from engine.modules.activation import Activation
from engine.modules.merge import Add, Concatenate
from engine.modules.pool import AveragePooling2D, MaxPool2D
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
