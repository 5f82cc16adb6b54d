"""Tokenizer: the course's examples, num_words, char level, JSON, TF encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text.padding import pad_sequences
from data.text.tokenizer import (DEFAULT_FILTERS, Tokenizer,
                                 text_to_word_sequence)

COURSE_SENTENCES = ["I love my dog", "I love my cat", "You love my dog!",
                    "Do you think my dog is amazing?"]
COURSE_WORD_INDEX = {"<OOV>": 1, "my": 2, "love": 3, "dog": 4, "i": 5,
                     "you": 6, "cat": 7, "do": 8, "think": 9, "is": 10,
                     "amazing": 11}
MIXED_TEXTS = ["Hello, World!", "  spaces\tand\ttabs\nnew-line ",
               "İstanbul ΟΔΟΣ", "CAFÉ café Ünïcode", "it's a dog's life",
               "", "!!!", "my dog  my cat (my manatee)",
               "I LOVE my dog; do you?"]


def course_tokenizer(**kwargs) -> Tokenizer:
  return Tokenizer(**kwargs).fit_on_texts(COURSE_SENTENCES)


def test_course_word_index_with_oov():
  assert course_tokenizer(oov_token="<OOV>").word_index == COURSE_WORD_INDEX


def test_course_sequences_and_padding():
  tokenizer = course_tokenizer(oov_token="<OOV>")
  sequences = tokenizer.texts_to_sequences(COURSE_SENTENCES)
  assert sequences == [[5, 3, 2, 4], [5, 3, 2, 7], [6, 3, 2, 4],
                       [8, 6, 9, 2, 4, 10, 11]]
  np.testing.assert_array_equal(
      pad_sequences(sequences, maxlen=5),
      [[0, 5, 3, 2, 4], [0, 5, 3, 2, 7], [0, 6, 3, 2, 4], [9, 2, 4, 10, 11]])


def test_unknown_words_map_to_oov_index():
  tokenizer = course_tokenizer(oov_token="<OOV>")
  test_data = ["i really love my dog", "my dog loves my manatee"]
  assert tokenizer.texts_to_sequences(test_data) == [[5, 1, 3, 2, 4],
                                                     [2, 4, 1, 2, 1]]


def test_unknown_words_dropped_without_oov():
  tokenizer = Tokenizer().fit_on_texts(COURSE_SENTENCES[:3])
  assert tokenizer.word_index == {"love": 1, "my": 2, "i": 3, "dog": 4,
                                  "cat": 5, "you": 6}
  assert tokenizer.texts_to_sequences(["i really love my dog"]) == [[3, 1, 2,
                                                                     4]]


@pytest.mark.parametrize("oov, num_words, expected", [
    ("<OOV>", 4, [[1, 3, 2, 1], [2, 1, 1]]),
    (None, 3, [[2, 1], [1]]),
    (None, None, [[4, 2, 1, 3], [1, 3, 6]]),
], ids=["oov_num_words_4", "no_oov_num_words_3", "all_words"])
def test_num_words_keeps_most_frequent(oov, num_words, expected):
  tokenizer = course_tokenizer(oov_token=oov, num_words=num_words)
  assert tokenizer.texts_to_sequences(["i love my dog", "my dog cat"]) == \
      expected
  assert len(tokenizer.word_index) == (11 if oov else 10)  # index keeps all.


def test_vocab_size_is_capped_by_num_words():
  assert course_tokenizer(oov_token="<OOV>").vocab_size == 12
  assert course_tokenizer(oov_token="<OOV>", num_words=5).vocab_size == 5


def test_ties_rank_by_first_appearance():
  tokenizer = Tokenizer().fit_on_texts(["b a", "c a b", "d"])
  assert tokenizer.word_index == {"b": 1, "a": 2, "c": 3, "d": 4}


def test_filters_lowercase_and_split():
  assert text_to_word_sequence("Hi!!  there\tYou(2)") == ["hi", "there",
                                                          "you", "2"]
  assert set('!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n') == set(DEFAULT_FILTERS)


def test_sequences_to_texts_round_trip():
  tokenizer = course_tokenizer(oov_token="<OOV>")
  assert tokenizer.sequences_to_texts([[5, 1, 3, 2, 4], [0, 0, 2, 99]]) == [
      "i <OOV> love my dog", "my <OOV>"]


def test_char_level():
  tokenizer = Tokenizer(char_level=True).fit_on_texts(["abCa", "b!"])
  assert tokenizer.word_index == {"a": 1, "b": 2, "c": 3, "!": 4}
  assert tokenizer.texts_to_sequences(["Cab?"]) == [[3, 1, 2]]
  assert tokenizer.sequences_to_texts([[3, 1, 2, 4]]) == ["cab!"]


def test_json_round_trip_encodes_identically(tmp_path):
  tokenizer = course_tokenizer(oov_token="<OOV>", num_words=6)
  path = tmp_path / "tokenizer.json"
  tokenizer.save(path)
  loaded = Tokenizer.load(path)
  assert loaded.word_index == tokenizer.word_index
  assert loaded.word_counts == tokenizer.word_counts
  assert (loaded.num_words, loaded.oov_token, loaded.document_count) == (6,
                                                                     "<OOV>", 4)
  assert loaded.texts_to_sequences(MIXED_TEXTS) == \
      tokenizer.texts_to_sequences(MIXED_TEXTS)
  assert Tokenizer.from_json(loaded.to_json()).to_json() == tokenizer.to_json()


def test_loads_keras_tokenizer_json():
  # The layout Keras's Tokenizer.to_json() writes: nested JSON strings.
  keras_json = json.dumps({"class_name": "Tokenizer", "config": {
      "num_words": None, "filters": DEFAULT_FILTERS, "lower": True,
      "split": " ", "char_level": False, "oov_token": "<OOV>",
      "document_count": 2,
      "word_counts": json.dumps({"a": 2, "b": 1}),
      "word_docs": json.dumps({"a": 2, "b": 1}),
      "index_docs": json.dumps({"2": 2, "3": 1}),
      "index_word": json.dumps({"1": "<OOV>", "2": "a", "3": "b"}),
      "word_index": json.dumps({"<OOV>": 1, "a": 2, "b": 3})}})
  tokenizer = Tokenizer.from_json(keras_json)
  assert tokenizer.texts_to_sequences(["B a z"]) == [[3, 2, 1]]
  assert tokenizer.index_word == {1: "<OOV>", 2: "a", 3: "b"}


def test_from_json_rejects_other_json():
  with pytest.raises(DataError, match="not a saved Tokenizer"):
    Tokenizer.from_json('{"classes": ["a"]}', source="labels.json")


@pytest.mark.parametrize("texts", [[], ["", "!!! ..."]],
                         ids=["no_texts", "only_punctuation"])
def test_empty_corpus_is_an_error(texts):
  with pytest.raises(DataError, match="corpus is empty"):
    Tokenizer().fit_on_texts(texts)


@pytest.mark.parametrize("num_words", [0, 1, -5, 2.5],
                         ids=["zero", "one", "negative", "float"])
def test_num_words_below_two_is_an_error(num_words):
  with pytest.raises(DataError, match=r"num_words .* >= 2"):
    Tokenizer(num_words=num_words)


def test_single_string_is_rejected():
  with pytest.raises(TypeError, match="wrap it in a list"):
    Tokenizer().fit_on_texts("I love my dog")


def test_encoding_before_fit_is_an_error():
  with pytest.raises(ValueError, match="no vocabulary"):
    Tokenizer().texts_to_sequences(["a"])


@pytest.mark.parametrize("kwargs", [
    {"oov_token": "<OOV>"},
    {},
    {"oov_token": "<OOV>", "num_words": 7},
    {"num_words": 4},
    {"char_level": True},
    {"char_level": True, "oov_token": "~", "num_words": 9},
], ids=["oov", "no_oov", "oov_num_words", "num_words", "char", "char_oov"])
def test_tf_encoder_equals_python(kwargs):
  tokenizer = Tokenizer(**kwargs).fit_on_texts(MIXED_TEXTS[:4] +
                                               COURSE_SENTENCES)
  encoder = tokenizer.tf_encoder()
  ragged = encoder(tf.constant(MIXED_TEXTS))
  assert ragged.dtype == tf.int32
  assert ragged.to_list() == tokenizer.texts_to_sequences(MIXED_TEXTS)


@pytest.mark.parametrize("padding, truncating, maxlen", [
    ("pre", "pre", 4), ("post", "post", 4), ("pre", "post", 3),
    ("post", "pre", None)], ids=["pre_pre", "post_post", "pre_post",
                                 "post_pre_longest"])
def test_tf_encoder_padded_equals_pad_sequences(padding, truncating, maxlen):
  tokenizer = Tokenizer(oov_token="<OOV>").fit_on_texts(COURSE_SENTENCES)
  expected = pad_sequences(tokenizer.texts_to_sequences(MIXED_TEXTS), maxlen,
                           padding=padding, truncating=truncating)
  actual = tokenizer.tf_encoder().encode_padded(
      tf.constant(MIXED_TEXTS), maxlen, padding=padding, truncating=truncating)
  np.testing.assert_array_equal(actual.numpy(), expected)


def test_tf_encoder_inside_tf_data():
  tokenizer = Tokenizer(oov_token="<OOV>").fit_on_texts(COURSE_SENTENCES)
  encoder = tokenizer.tf_encoder()
  dataset = tf.data.Dataset.from_tensor_slices(MIXED_TEXTS).batch(3).map(
      lambda t: encoder.encode_padded(t, maxlen=5, padding="post"))
  batches = [b.numpy() for b in dataset]
  assert batches[0].shape == (3, 5)
  np.testing.assert_array_equal(
      np.concatenate(batches),
      pad_sequences(tokenizer.texts_to_sequences(MIXED_TEXTS), 5,
                    padding="post"))
