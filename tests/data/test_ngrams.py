"""Next-word n-gram prefixes, one-hot labels and character windows."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError
from data.text import ngrams
from data.text.tokenizer import Tokenizer

LINES = ["the cat sat", "a dog ran far"]


def test_prefixes_of_two_lines():
  tokenizer = Tokenizer().fit_on_texts(LINES)
  sequences = tokenizer.texts_to_sequences(LINES)
  assert sequences == [[1, 2, 3], [4, 5, 6, 7]]
  assert ngrams.ngram_prefixes(sequences) == [
      [1, 2], [1, 2, 3], [4, 5], [4, 5, 6], [4, 5, 6, 7]]


def test_short_lines_give_no_prefixes():
  assert ngrams.ngram_prefixes([[], [9], [1, 2]]) == [[1, 2]]


def test_next_word_data_pre_padded_sparse_labels():
  data = ngrams.next_word_data([[1, 2, 3], [4, 5, 6, 7]])
  assert data.max_sequence_len == 4
  np.testing.assert_array_equal(data.features, [
      [0, 0, 1], [0, 1, 2], [0, 0, 4], [0, 4, 5], [4, 5, 6]])
  np.testing.assert_array_equal(data.labels, [2, 3, 5, 6, 7])
  assert data.features.dtype == np.int32 and data.labels.dtype == np.int32


def test_next_word_data_one_hot_labels():
  data = ngrams.next_word_data([[1, 2, 3]], one_hot_classes=4)
  np.testing.assert_array_equal(data.labels, [[0, 0, 1, 0], [0, 0, 0, 1]])
  assert data.labels.dtype == np.float32


def test_next_word_data_truncates_long_prefixes_at_the_start():
  data = ngrams.next_word_data([[1, 2, 3, 4]], max_sequence_len=3)
  np.testing.assert_array_equal(data.features, [[0, 1], [1, 2], [2, 3]])
  np.testing.assert_array_equal(data.labels, [2, 3, 4])


def test_no_prefix_is_an_error():
  with pytest.raises(DataError, match="none of the 2 lines has two"):
    ngrams.next_word_data([[1], []])


def test_one_hot_out_of_range_is_an_error():
  with pytest.raises(DataError, match="num_classes=3"):
    ngrams.one_hot(np.array([0, 3]), 3)


@pytest.mark.parametrize("shift, features, labels", [
    (1, [[1, 2, 3], [2, 3, 4], [3, 4, 5]], [4, 5, 6]),
    (2, [[1, 2, 3], [3, 4, 5]], [4, 6]),
], ids=["shift1", "shift2"])
def test_sliding_windows(shift, features, labels):
  data = ngrams.sliding_windows([1, 2, 3, 4, 5, 6], length=3, shift=shift)
  np.testing.assert_array_equal(data.features, features)
  np.testing.assert_array_equal(data.labels, labels)


def test_sliding_windows_text_too_short():
  with pytest.raises(DataError, match="fewer than one window"):
    ngrams.sliding_windows([1, 2, 3], length=3)
