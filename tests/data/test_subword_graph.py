"""data/text/subword_graph.py: in-graph subword ids (reader cleaning,
tokenizer, per-batch padding) equal the ids the subword pipeline gives the
Python-cleaned texts, as training and predict_text encode them."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.text import graph_tokenizer, subword_pipeline
from data.text.subword import SubwordTokenizer
from data.text.subword_graph import SubwordGraphEncoder
from tests.trainers import runs

EDGE_TEXTS = ["", "   ", "The THE the", "it's-a\tb\nc", "x\xa0y\u3000z",
              "Ünïcode CAFÉ 映画 👍", "<br />Line<BR/>break<br>", "a,b;c...d",
              "shares market " * 12]


@pytest.fixture(scope="module")
def tokenizer():
  texts = [text for _, text in runs.bbc_rows(40)]
  return SubwordTokenizer.learn(texts, vocab_size=80)


def python_ids(tokenizer, texts, length, padding, truncating, **options):
  return subword_pipeline.encode_batch(
      tokenizer, tf.constant(graph_tokenizer.prepare_texts(texts, **options)),
      length, padding, truncating).numpy()


def graph_ids(encoder, texts):
  function = tf.function(encoder, input_signature=[
      tf.TensorSpec([None], tf.string)])
  return function(tf.constant(texts, tf.string)).numpy()


@pytest.mark.parametrize("length,padding,truncating,options", [
    (None, "post", "post", {"strip_html": True}),
    (7, "pre", "pre", {"remove_stopwords": True}),
    (7, "post", "post", {"remove_stopwords": True, "strip_html": True}),
], ids=["any_length_html", "fixed_pre_stopwords", "fixed_post_both"])
def test_graph_ids_equal_the_pipeline_on_cleaned_texts(
    tokenizer, length, padding, truncating, options):
  texts = EDGE_TEXTS + [text for _, text in runs.bbc_rows(8, seed=5)]
  encoder = SubwordGraphEncoder(tokenizer, length, padding, truncating,
                                **options)
  got = graph_ids(encoder, texts)
  np.testing.assert_array_equal(
      got, python_ids(tokenizer, texts, length, padding, truncating,
                      **options))
  assert got.dtype == np.int32
  assert got.shape[1] == (length or max(
      len(ids) for ids in tokenizer.texts_to_sequences(
          graph_tokenizer.prepare_texts(texts, **options))))


def test_a_batch_of_short_texts_is_padded_to_the_minimum_length(tokenizer):
  pieces = tokenizer.encode("a b")
  assert 0 < len(pieces) < subword_pipeline.MIN_LENGTH
  got = graph_ids(SubwordGraphEncoder(tokenizer, None), ["", "a b"])
  assert got.shape == (2, subword_pipeline.MIN_LENGTH)
  assert (got[0] == 0).all()
  assert got[1].tolist() == pieces + [0] * (got.shape[1] - len(pieces))


def test_given_ids_are_padded_only_without_a_max_length(tokenizer):
  ids = tf.constant([[4, 5, 6], [7, 0, 0]], tf.int32)
  padded = SubwordGraphEncoder(tokenizer, None).pad_short(ids).numpy()
  np.testing.assert_array_equal(padded, [[4, 5, 6, 0, 0], [7, 0, 0, 0, 0]])
  long_ids = tf.ones([1, 9], tf.int32)
  assert SubwordGraphEncoder(tokenizer, None).pad_short(
      long_ids).shape == (1, 9)
  assert SubwordGraphEncoder(tokenizer, 3).pad_short(ids) is ids
