"""data/text/graph_tokenizer.py: in-graph ids equal the Python tokenizer's
on every text of a synthetic BBC CSV and a synthetic IMDB set."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.text import graph_tokenizer, pipelines, readers
from data.text.tokenizer import Tokenizer
from tests.trainers import runs

EDGE_TEXTS = ["", "   ", "The THE the", "it's-a\tb\nc", "x\xa0y\u3000z",
              "Ünïcode CAFÉ", "<br />Line<BR/>break<br>", "a,b;c...d"]


def python_ids(tokenizer, texts, length, padding, truncating, **options):
  return pipelines.encode_texts(
      tokenizer, graph_tokenizer.prepare_texts(texts, **options), length,
      padding, truncating)


def graph_ids(tokenizer, texts, length, padding, truncating, **options):
  encode = graph_tokenizer.GraphTokenizer(tokenizer, length, padding,
                                          truncating, **options)
  function = tf.function(encode, input_signature=[
      tf.TensorSpec([None], tf.string)])
  return function(tf.constant(texts, tf.string)).numpy()


def test_bbc_csv_ids_equal_the_python_tokenizer(tmp_path):
  path = runs.write_bbc_csv(tmp_path / "bbc.csv", runs.bbc_rows(60))
  bundle = pipelines.bbc_bundle(path, {"vocab_size": 25, "max_length": 9})
  tokenizer = bundle.info.tokenizer
  texts = readers.read_bbc_csv(path).texts + EDGE_TEXTS
  options = {"remove_stopwords": True, "strip_html": False}
  want = python_ids(tokenizer, texts, 9, "post", "post", **options)
  got = graph_ids(tokenizer, texts, 9, "post", "post", **options)
  np.testing.assert_array_equal(got, want)
  # The training features themselves are reproduced.
  train_ids = np.concatenate([x for x, _ in bundle.train(0)])
  assert {tuple(r) for r in train_ids} <= {tuple(r) for r in got}


@pytest.mark.parametrize("padding,truncating", [("pre", "post"),
                                                ("post", "pre")])
def test_imdb_ids_equal_the_python_tokenizer(tmp_path, padding, truncating):
  acl = runs.write_imdb(str(tmp_path), per_class=15)
  splits = readers.read_imdb(acl)
  bundle = pipelines.imdb_bundle(acl, {"vocab_size": 12, "max_length": 6,
                                       "padding_type": padding,
                                       "trunc_type": truncating})
  tokenizer = bundle.info.tokenizer
  texts = splits["train"].texts + splits["test"].texts + EDGE_TEXTS
  options = {"remove_stopwords": False, "strip_html": True}
  want = python_ids(tokenizer, texts, 6, padding, truncating, **options)
  got = graph_ids(tokenizer, texts, 6, padding, truncating, **options)
  np.testing.assert_array_equal(got, want)
  assert want.max() < 12 and (want == tokenizer.oov_index).any()


def test_without_oov_token_unknown_words_are_dropped():
  tokenizer = Tokenizer().fit_on_texts(["red green blue", "green"])
  texts = ["green purple red", "purple"]
  np.testing.assert_array_equal(
      graph_ids(tokenizer, texts, 4, "pre", "pre"),
      python_ids(tokenizer, texts, 4, "pre", "pre"))


def test_text_options_come_from_hparams():
  assert graph_tokenizer.text_options({"remove_stopwords": "true"}) == {
      "remove_stopwords": True, "strip_html": False}
  assert graph_tokenizer.text_options({"strip_html": True}) == {
      "remove_stopwords": False, "strip_html": True}
