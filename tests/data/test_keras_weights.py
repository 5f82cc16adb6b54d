"""The Keras weight reader: both layouts, creation order, clear errors."""

from __future__ import annotations

import os
import tempfile

import h5py
import keras
import tensorflow as tf

from data import keras_weights
from data.errors import DataError
from tests.data.keras_files import write_keras2_weights


def _small_keras_model():
  model = keras.Sequential([
      keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
      keras.layers.BatchNormalization(), keras.layers.Flatten(),
      keras.layers.Dense(5), keras.layers.Dense(2)])
  return model


class KerasWeightsReaderTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.tmp = tempfile.mkdtemp()
    self.model = _small_keras_model()

  def _check(self, layers):
    self.assertEqual(sorted(layers), ["batch_normalization", "conv2d",
                                      "dense"])
    conv = self.model.layers[0]
    self.assertAllEqual(layers["conv2d"][0].arrays[0], conv.kernel)
    dense_shapes = [layer.arrays[0].shape for layer in layers["dense"]]
    self.assertEqual(dense_shapes, [(144, 5), (5, 2)])
    bn = layers["batch_normalization"][0]
    self.assertLen(bn.arrays, 4)
    self.assertAllEqual(bn.arrays[2], self.model.layers[1].moving_mean)

  def test_keras3_layout(self):
    path = os.path.join(self.tmp, "m.weights.h5")
    self.model.save_weights(path)
    self._check(keras_weights.read_layers(path))

  def test_keras2_layout_in_creation_order(self):
    path = os.path.join(self.tmp, "m.h5")
    write_keras2_weights(self.model, path, name_offset=1)
    with h5py.File(path, "r+") as f:   # graph order != creation order
      names = list(f.attrs["layer_names"])
      f.attrs["layer_names"] = names[::-1]
    layers = keras_weights.read_layers(path)
    self._check(layers)
    self.assertEqual(layers["batch_normalization"][0].weight_names,
                     ("gamma", "beta", "moving_mean", "moving_variance"))

  def test_keras2_whole_model_file(self):
    path = os.path.join(self.tmp, "whole.h5")
    self.model.save(path)
    self._check(keras_weights.read_layers(path))

  def test_not_hdf5(self):
    path = os.path.join(self.tmp, "x.h5")
    with open(path, "w") as f:
      f.write("not hdf5")
    with self.assertRaisesRegex(DataError, "x.h5 is not an HDF5"):
      keras_weights.read_layers(path)

  def test_missing_file(self):
    with self.assertRaisesRegex(DataError, "does not exist"):
      keras_weights.read_layers(os.path.join(self.tmp, "nope.h5"))

  def test_unsupported_layer_kind(self):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2)])
    path = os.path.join(self.tmp, "lstm.weights.h5")
    model.save_weights(path)
    with self.assertRaisesRegex(DataError, "'lstm'.*does not map"):
      keras_weights.read_layers(path)

