"""InceptionV3: Keras's parameter counts, and Keras weights give Keras's
outputs (both file layouts), checked at 75x75 with random BN statistics."""

from __future__ import annotations

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from data import keras_weights
from engine import weight_transfer
from engine.errors import EngineUserError
from models import vision
from tests import testing
from tests.data.keras_files import write_keras2_weights

SIZE = 75


def _randomized_keras_inception():
  keras.backend.clear_session()   # fresh names: conv2d, conv2d_1, ...
  model = keras.applications.InceptionV3(
      weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
  rng = np.random.default_rng(0)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      shape = layer.moving_mean.shape
      layer.moving_mean.assign(rng.normal(0, 0.5, shape).astype("f"))
      layer.moving_variance.assign(rng.uniform(0.5, 2, shape).astype("f"))
      layer.beta.assign(rng.normal(0, 0.5, shape).astype("f"))
  return model


class InceptionV3Test(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp()
    cls.keras_model = _randomized_keras_inception()
    cls.keras3_path = os.path.join(cls.tmp, "inception.weights.h5")
    cls.keras_model.save_weights(cls.keras3_path)
    cls.keras2_path = os.path.join(cls.tmp, "inception_notop.h5")
    write_keras2_weights(cls.keras_model, cls.keras2_path, name_offset=1)
    cls.ours = vision.InceptionV3()
    cls.ours.build([SIZE, SIZE, 3])
    images = np.random.default_rng(1).uniform(0, 1, [2, SIZE, SIZE, 3])
    cls.images = images.astype(np.float32)
    probe = keras.Model(cls.keras_model.input, [
        cls.keras_model.get_layer("mixed7").output, cls.keras_model.output])
    cls.expected = [t.numpy() for t in probe(cls.images, training=False)]

  def _check_outputs(self):
    blocks = dict(self.ours.block_outputs(self.images))
    testing.assert_allclose(blocks["mixed7"], self.expected[0], atol=1e-4,
                            rtol=1e-4)
    testing.assert_allclose(blocks["mixed10"], self.expected[1], atol=1e-4,
                            rtol=1e-4)

  def test_keras3_weights_give_keras_outputs(self):
    count = weight_transfer.assign_keras_layers(
        self.ours, keras_weights.read_layers(self.keras3_path))
    self.assertEqual(count, 94 * 4)
    self._check_outputs()

  def test_keras2_weights_give_keras_outputs(self):
    weight_transfer.assign_keras_layers(
        self.ours, keras_weights.read_layers(self.keras2_path))
    self._check_outputs()

  def test_parameter_counts_are_keras(self):
    self.assertEqual(sum(v.shape.num_elements() for v in self.ours.variables),
                     21_802_784)
    self.assertEqual(self.keras_model.count_params(), 21_802_784)

  def test_layer_names_and_order_are_keras(self):
    names = {layer.name for layer in self.ours.layers}
    keras_names = {layer.name for layer in self.keras_model.layers[1:]}
    self.assertEqual(names, keras_names)

  def test_output_shape_formula(self):
    for block, output in self.ours.block_outputs(self.images[:1]):
      if block != "stem":
        self.assertEqual(vision.inception_output_shape(SIZE, block),
                         tuple(output.shape[1:]), block)
    self.assertEqual(vision.inception_output_shape(150, "mixed7"), (7, 7, 768))

  def test_cut_base_takes_a_prefix_of_the_full_file(self):
    base = vision.InceptionV3(cut_at="mixed2")
    base.build([SIZE, SIZE, 3])
    layers = keras_weights.read_layers(self.keras3_path)
    with self.assertRaisesRegex(EngineUserError, "has 26 conv2d layers but "
                                "the weights have 94.*conv2d_26 of the file is extra"):
      weight_transfer.assign_keras_layers(base, layers)
    weight_transfer.assign_keras_layers(base, layers, allow_extra=True)
    probe = keras.Model(self.keras_model.input,
                        self.keras_model.get_layer("mixed2").output)
    testing.assert_allclose(base(self.images), probe(self.images), atol=1e-4,
                            rtol=1e-4)

  def test_mismatch_names_first_layer_and_loads_nothing(self):
    bad_path = os.path.join(self.tmp, "bad.h5")
    last = [l for l in self.keras_model.layers
            if isinstance(l, keras.layers.Conv2D)][-1]
    write_keras2_weights(self.keras_model, bad_path, replace={
        last.name: [np.zeros([1, 1, 2048, 7], np.float32)]})
    before = [v.numpy() for v in self.ours.variables[:3]]
    first_conv = self.ours.layers[0]
    first_conv.w.assign(tf.zeros_like(first_conv.w))
    with self.assertRaisesRegex(EngineUserError,
                                f"does not fit {last.name}: w has shape"):
      weight_transfer.assign_keras_layers(
          self.ours, keras_weights.read_layers(bad_path))
    self.assertAllEqual(first_conv.w, tf.zeros_like(first_conv.w))
    del before

  def test_small_input_is_refused(self):
    with self.assertRaisesRegex(ValueError, "at least 75x75"):
      vision.InceptionV3(cut_at="mixed0")(tf.zeros([1, 60, 60, 3]))

  def test_summary_lists_keras_names(self):
    base = vision.InceptionV3(cut_at="mixed0")
    text = base.summary([SIZE, SIZE, 3], print_fn=None)
    self.assertIn("mixed0 (Concatenate)", text)
    self.assertIn("average_pooling2d (AveragePooling2D)", text)
    self.assertIn("batch_normalization_11 (BatchNormalization)", text)
