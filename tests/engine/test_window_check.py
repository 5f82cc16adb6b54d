"""A pool or convolution window larger than its input is one clear error."""

from __future__ import annotations

import pytest
import tensorflow as tf

from engine.errors import InputTooSmallError
from engine.modules.conv import Conv2D
from engine.modules.pool import MaxPool2D
from engine.modules.sequential import Sequential


def test_pool_larger_than_its_input_names_the_layer():
  model = Sequential([Conv2D(2, 3), MaxPool2D(2), Conv2D(2, 3), MaxPool2D(2)])
  with pytest.raises(InputTooSmallError, match=r"input is 1x1.*2x2.*larger"):
    model(tf.zeros([1, 8, 8, 1]))


def test_convolution_larger_than_its_input_and_same_padding():
  with pytest.raises(InputTooSmallError, match=r"input is 2x2.*3x3"):
    Conv2D(2, 3)(tf.zeros([1, 2, 2, 1]))
  assert MaxPool2D(4, padding="same")(tf.zeros([1, 2, 2, 1])).shape == [
      1, 1, 1, 1]
  assert MaxPool2D(2)(tf.zeros([1, 2, 2, 1])).shape == [1, 1, 1, 1]


def test_unknown_sizes_are_left_to_run_time():
  fn = tf.function(lambda x: MaxPool2D(2)(x)).get_concrete_function(
      tf.TensorSpec([None, None, None, 1]))
  assert fn.structured_outputs.shape.rank == 4
