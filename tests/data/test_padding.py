"""pad_sequences and pad_ragged against hand-made arrays and Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text.padding import pad_ragged, pad_sequences

SEQUENCES = [[1, 2, 3, 4, 5], [6, 7], [], [8, 9, 10]]

CASES = {
    "longest_pre": (dict(), [[1, 2, 3, 4, 5], [0, 0, 0, 6, 7],
                             [0, 0, 0, 0, 0], [0, 0, 8, 9, 10]]),
    "longest_post": (dict(padding="post"),
                     [[1, 2, 3, 4, 5], [6, 7, 0, 0, 0], [0, 0, 0, 0, 0],
                      [8, 9, 10, 0, 0]]),
    "maxlen3_pre_pre": (dict(maxlen=3), [[3, 4, 5], [0, 6, 7], [0, 0, 0],
                                         [8, 9, 10]]),
    "maxlen3_post_post": (dict(maxlen=3, padding="post", truncating="post"),
                          [[1, 2, 3], [6, 7, 0], [0, 0, 0], [8, 9, 10]]),
    "maxlen2_pre_post": (dict(maxlen=2, truncating="post"),
                         [[1, 2], [6, 7], [0, 0], [8, 9]]),
    "maxlen4_post_pre_value": (dict(maxlen=4, padding="post", value=-1),
                               [[2, 3, 4, 5], [6, 7, -1, -1],
                                [-1, -1, -1, -1], [8, 9, 10, -1]]),
    "maxlen7_pre": (dict(maxlen=7), [[0, 0, 1, 2, 3, 4, 5],
                                     [0, 0, 0, 0, 0, 6, 7], [0] * 7,
                                     [0, 0, 0, 0, 8, 9, 10]]),
}


@pytest.mark.parametrize("kwargs, expected", CASES.values(), ids=CASES.keys())
def test_pad_sequences_modes(kwargs, expected):
  actual = pad_sequences(SEQUENCES, **kwargs)
  assert actual.dtype == np.int32
  np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("kwargs", [c[0] for c in CASES.values()],
                         ids=CASES.keys())
def test_pad_sequences_matches_keras(kwargs):
  np.testing.assert_array_equal(pad_sequences(SEQUENCES, **kwargs),
                                keras.utils.pad_sequences(SEQUENCES, **kwargs))


@pytest.mark.parametrize("kwargs, expected", CASES.values(), ids=CASES.keys())
def test_pad_ragged_equals_pad_sequences(kwargs, expected):
  ragged = tf.ragged.constant(SEQUENCES, dtype=tf.int32, ragged_rank=1)
  actual = pad_ragged(ragged, **kwargs)
  assert actual.dtype == tf.int32
  np.testing.assert_array_equal(actual.numpy(), expected)


def test_pad_ragged_in_tf_function_has_static_length():
  @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)])
  def pad(ids):
    return pad_ragged(ids, maxlen=3, padding="post")
  out = pad(tf.ragged.constant([[1, 2, 3, 4], [5]], dtype=tf.int32))
  assert out.shape == (2, 3)
  np.testing.assert_array_equal(out.numpy(), [[2, 3, 4], [5, 0, 0]])


def test_float_dtype_and_item_vectors():
  sequences = [[[1.5, 2.0]], [[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]]
  actual = pad_sequences(sequences, maxlen=2, dtype="float32")
  np.testing.assert_array_equal(actual, [[[0, 0], [1.5, 2.0]],
                                         [[5, 6], [7, 8]]])
  assert actual.dtype == np.float32


@pytest.mark.parametrize("maxlen", [0, -3], ids=["zero", "negative"])
def test_maxlen_below_one_is_an_error(maxlen):
  with pytest.raises(DataError, match=r"maxlen .* >= 1"):
    pad_sequences(SEQUENCES, maxlen=maxlen)
  with pytest.raises(DataError, match=r"maxlen .* >= 1"):
    pad_ragged(tf.ragged.constant([[1]]), maxlen=maxlen)


@pytest.mark.parametrize("kwargs", [dict(padding="middle"),
                                    dict(truncating="both")],
                         ids=["padding", "truncating"])
def test_bad_mode_is_an_error(kwargs):
  with pytest.raises(DataError, match="'pre' or 'post'"):
    pad_sequences(SEQUENCES, **kwargs)


def test_mixed_item_shapes_are_an_error():
  with pytest.raises(DataError, match="sequence 1 has items of shape"):
    pad_sequences([[[1, 2]], [[1, 2, 3]]])
