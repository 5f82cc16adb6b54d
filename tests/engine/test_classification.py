"""Classifier decoding (one threshold for vision and text) and the confusion
matrix."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from engine import classification
from tests import testing


@pytest.mark.parametrize("labels, outputs, expected", [
    ([[0.], [1.], [1.], [0.]], [[0.2], [0.9], [0.4], [0.7]],
     [[1, 1], [1, 1]]),
    ([0, 2, 2, 1], [[.8, .1, .1], [.1, .1, .8], [.6, .3, .1], [.2, .7, .1]],
     [[1, 0, 0], [0, 1, 0], [1, 0, 1]]),
    ([[1., 0.], [0., 1.], [0., 1.]], [[.9, .1], [.3, .7], [.4, .6]],
     [[1, 0], [0, 2]]),
], ids=["binary_sigmoid", "sparse_softmax", "one_hot_softmax"])
def test_confusion_matrix_counts_true_by_predicted(labels, outputs, expected):
  features = np.zeros([len(labels), 1], np.float32)
  dataset = tf.data.Dataset.from_tensor_slices(
      (features, np.asarray(labels, np.float32 if np.ndim(labels) == 2
                            else np.int32))).batch(2)
  matrix = classification.confusion_matrix(testing.FixedPredictions(outputs), dataset)
  np.testing.assert_array_equal(matrix, expected)


def test_sigmoid_decodes_at_half_to_the_positive_class():
  decoded = classification.decode(np.array([[0.5], [0.49], [0.9]]),
                                  ["neg", "pos"])
  assert [name for name, _ in decoded] == ["pos", "neg", "pos"]
  np.testing.assert_allclose([p for _, p in decoded], [0.5, 0.51, 0.9])


def test_softmax_decodes_the_arg_max_and_names_unnamed_classes():
  decoded = classification.decode(np.array([[0.1, 0.7, 0.2], [0.1, 0.1, 0.8]]),
                                  ["a", "b"])
  assert decoded[0] == ("b", pytest.approx(0.7))
  assert decoded[1] == ("class 2", pytest.approx(0.8))


def test_format_confusion_is_a_table_of_rows_true_columns_predicted():
  report = {"confusion_matrix": [[1, 0], [1, 1]], "class_names": ["cats", "dogs"]}
  assert classification.format_confusion(report).splitlines()[2].split() == [
      "dogs", "1", "1"]
