"""The course's NLP datasets: where each file comes from, and its bundle.

`make_data` of every text recipe (models/text.py) is one of these:

* `bbc_data`: BBC news (bbc-text.csv), 80/20 in file order;
* `imdb_data`: IMDB reviews (aclImdb folder or archive);
* `sentiment_data`: Sentiment140 tweets and the GloVe matrix;
* `sonnets_data`, `char_data`: next-word / next-character corpora.

`hparams["data_path"]` names the file and `hparams["glove_path"]` the GloVe
vectors. Without them the course's file is fetched once into the cache
(`data.download`); offline, the error names the file and where to put it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
import tensorflow as tf
from absl import logging

from data import catalog, download
from data.bundle import DataBundle
from data.errors import DataError
from data.hparams import bool_hparam_value, int_hparam
from data.text import pipelines, readers

WORD, SUBWORD = "word", "subword"


def data_file(hparams: Mapping[str, Any], catalog_name: str,
              key: str = "data_path") -> str:
  """The user's file `hparams[key]`, else the course's cached download.

  Args:
    hparams: the recipe's hyper-parameters.
    catalog_name: the `data.catalog` entry used when `hparams[key]` is unset.
    key: "data_path" or "glove_path".

  Returns:
    A local path.

  Raises:
    DataError: the given path does not exist, or the download failed (the
      message names the file and where to place it by hand).
  """
  path = hparams.get(key)
  if path:
    path = os.path.expanduser(os.fspath(path))
    if not os.path.exists(path):
      raise DataError(f"{key} {path} does not exist; pass an existing file "
                      f"with --{key}=PATH (or --hparam {key}=PATH).")
    return path
  return download.fetch_entry(catalog.get(catalog_name))


def _pipeline_hparams(hparams: Mapping[str, Any], **overrides: Any) -> dict:
  """A copy for the data pipelines, optional ints converted from strings."""
  h = dict(hparams)
  for key in ("vocab_size", "training_size", "max_sequence_len"):
    if key in h:
      h[key] = int_hparam(h, key)
  if "one_hot_labels" in h:
    h["one_hot_labels"] = bool_hparam_value(h["one_hot_labels"])
  h.update(overrides)
  return h


def bbc_data(hparams: Mapping[str, Any]) -> DataBundle:
  """BBC news (bbc-text.csv), split 80/20 in file order as the course.

  `tokenizer` "subword" learns a subword vocabulary of vocab_size ids from
  the training texts (stop words removed first, as for words) instead of
  indexing words (see `subword_data`).

  Raises:
    DataError: bad CSV (a missing column is named), more classes than the
      model's num_classes outputs, or a category that appears only in the
      validation split.
  """
  path = data_file(hparams, "bbc-text")
  if tokenizer_kind(hparams) == SUBWORD:
    bundle = subword_data(hparams, path, "bbc")
  else:
    bundle = pipelines.bbc_bundle(path, _pipeline_hparams(hparams))
  outputs = int_hparam(hparams, "num_classes", minimum=2)
  needed = bundle.info.num_classes
  if needed > outputs:
    raise DataError(
        f"{path}: {needed - 1} categories need {needed} outputs (ids from "
        f"1, as the course), but num_classes is {outputs}; set --hparam "
        f"num_classes={needed}.")
  check_validation_labels(bundle, path)
  return bundle


def _labels_of(dataset: tf.data.Dataset) -> np.ndarray:
  labels = [y for _, y in dataset.as_numpy_iterator()]
  return np.concatenate(labels) if labels else np.zeros([0], np.int32)


def check_validation_labels(bundle: DataBundle, source: str) -> None:
  """Refuses validation labels that never occur in the training split.

  Raises:
    DataError: names the labels, their row count and the fix.
  """
  if bundle.validation is None:
    return
  seen = set(np.unique(_labels_of(bundle.train(0))).tolist())
  validation = _labels_of(bundle.validation)
  unseen = sorted(set(np.unique(validation).tolist()) - seen)
  if not unseen:
    return
  names = bundle.info.class_names
  shown = [names[i] if i < len(names) else str(i) for i in unseen]
  rows = int(np.isin(validation, unseen).sum())
  raise DataError(
      f"{source}: label(s) {', '.join(map(repr, shown))} never occur in the "
      f"training split but in {rows} validation row(s), so the model cannot "
      f"learn them; reorder the file or raise training_portion.")


def imdb_data(hparams: Mapping[str, Any]) -> DataBundle:
  """IMDB reviews (aclImdb folder or archive); validation: the test split,
  else the last 20% of the shuffled train split.

  `tokenizer` "subword" learns a subword vocabulary of vocab_size ids
  instead of indexing words (see `subword_data`).
  """
  path = data_file(hparams, "imdb")
  if tokenizer_kind(hparams) == SUBWORD:
    return subword_data(hparams, path, "imdb")
  return pipelines.imdb_bundle(path, _pipeline_hparams(hparams))


def tokenizer_kind(hparams: Mapping[str, Any]) -> str:
  """hparam `tokenizer`: "word" (the default) or "subword".

  Raises:
    DataError: another value.
  """
  kind = str(hparams.get("tokenizer") or WORD).strip().lower()
  if kind not in (WORD, SUBWORD):
    raise DataError(f"hparam tokenizer must be {WORD!r} or {SUBWORD!r}, got "
                    f"{hparams.get('tokenizer')!r}.")
  return kind


def subword_data(hparams: Mapping[str, Any], path: str,
                 dataset: str) -> DataBundle:
  """IMDB or BBC news on a subword vocabulary learned from the training
  texts (`dataset` "imdb" or "bbc": `subword_pipeline.imdb_bundle` or
  `bbc_bundle`).

  vocab_size is the target number of subword ids (padding included); the
  learned vocabulary may fall short on a small corpus, so the size it has
  is `info.vocab_size`, which `data.bundle.model_hparams` gives the
  Embedding and config.json. max_length None (the subword recipes'
  default) pads each batch to its longest review. hparams["vocab_file"]
  (set by trainers.train when resuming, see `with_saved_vocabulary`) names
  a saved vocabulary to use instead of learning one; what the vocabulary
  is learned from (`subword_settings`) goes into text_config.json.
  """
  from data.text import subword_pipeline  # Loads tensorflow-text's ops.
  h = _pipeline_hparams(hparams)
  h["max_length"] = int_hparam(hparams, "max_length")
  if h.get("vocab_size") is None:
    h["vocab_size"] = subword_pipeline.DEFAULT_VOCAB_SIZE
  h["vocabulary_settings"] = subword_settings(hparams)
  bundle = {"imdb": subword_pipeline.imdb_bundle,
            "bbc": subword_pipeline.bbc_bundle}[dataset](path, h)
  learned = bundle.info.vocab_size
  if learned != h["vocab_size"] and not h.get("vocab_file"):
    logging.warning("the training text gives %d subword ids, not the %d "
                    "asked for; the model uses %d", learned, h["vocab_size"],
                    learned)
  return bundle


# The hparam that cleans a recipe's texts before tokenizing -> the course's
# download its data comes from when no data_path is given.
_TEXT_CLEANING = {"strip_html": "imdb", "remove_stopwords": "bbc-text"}


def subword_settings(hparams: Mapping[str, Any]) -> dict[str, Any]:
  """What a subword vocabulary is learned from: the data file (absolute,
  or the course's download), the vocab_size asked for, the text cleaning
  (IMDB's HTML stripping, BBC's stop-word removal), and the split
  (training_portion, seed). A run with other values learns another
  vocabulary."""
  from data.text import subword_pipeline  # Loads tensorflow-text's ops.
  cleaning = next((k for k in _TEXT_CLEANING if k in hparams), "strip_html")
  path = hparams.get("data_path")
  vocab_size = int_hparam(hparams, "vocab_size")
  return {
      "data_path": (os.path.abspath(os.path.expanduser(os.fspath(path)))
                    if path else f"download:{_TEXT_CLEANING[cleaning]}"),
      "vocab_size": (subword_pipeline.DEFAULT_VOCAB_SIZE
                     if vocab_size is None else vocab_size),
      cleaning: bool_hparam_value(hparams.get(cleaning, True)),
      "training_portion": float(hparams.get("training_portion", 0.8)),
      "seed": int(hparams.get("seed") or 0)}


def changed_vocabulary_settings(hparams: Mapping[str, Any],
                                model_dir: str) -> list[str] | None:
  """How this run's subword settings differ from those the vocabulary in
  model_dir was learned from ("name: saved -> now" each), or None when
  there is nothing to compare (a word run, no saved subword vocabulary, or
  one saved without its settings)."""
  if tokenizer_kind(hparams) != SUBWORD:
    return None
  from data.text import subword_pipeline  # Loads tensorflow-text's ops.
  saved = subword_pipeline.saved_vocabulary_settings(model_dir)
  if saved is None:
    return None
  now = subword_settings(hparams)
  return [f"{key}: {saved.get(key)!r} -> {now[key]!r}" for key in now
          if saved.get(key) != now[key]]


def with_saved_vocabulary(hparams: Mapping[str, Any], model_dir: str
                          ) -> dict[str, Any]:
  """A copy of hparams for make_data that reuses the subword vocabulary
  saved in model_dir (`vocab_file`) when it was learned from the same
  settings, so a resumed run does not learn it again."""
  result = dict(hparams)
  if changed_vocabulary_settings(hparams, model_dir) == []:
    from data.text import subword_pipeline  # Loads tensorflow-text's ops.
    result["vocab_file"] = os.path.join(model_dir,
                                        subword_pipeline.VOCAB_FILE)
  return result


def sentiment_data(hparams: Mapping[str, Any]) -> DataBundle:
  """Sentiment140 tweets with the GloVe matrix in `info.embedding_matrix`.

  vocab_size counts words (the course's `len(word_index)`), so the
  tokenizer keeps ids 1..vocab_size and the matrix has vocab_size + 1 rows.

  Raises:
    DataError: `tokenizer` "subword" (GloVe has vectors for words, not
      for subword pieces), before any file is read or fetched.
  """
  if tokenizer_kind(hparams) == SUBWORD:
    raise DataError(
        "sentiment_glove initialises its frozen embedding with GloVe word "
        "vectors, which have no rows for subword pieces, so "
        "--tokenizer=subword does not apply; drop it (words, the default), "
        "or train a subword vocabulary with bbc_embedding or an imdb_* "
        "model and --tokenizer=subword.")
  path = data_file(hparams, "sentiment140-cleaned")
  glove_path = data_file(hparams, "glove-6b-100d", key="glove_path")
  words = int_hparam(hparams, "vocab_size")
  bundle = pipelines.sentiment140_glove_bundle(
      path, glove_path, _pipeline_hparams(
          hparams, vocab_size=None if words is None else words + 1))
  bundle.info.vocab_size = bundle.info.total_words - 1
  logging.info("GloVe covers %d of %d words", bundle.info.glove_found,
               bundle.info.glove_words)
  return bundle


def sonnets_data(hparams: Mapping[str, Any]) -> DataBundle:
  """Next-word n-grams of a corpus (sonnets.txt by default)."""
  path = data_file(hparams, "sonnets")
  bundle = pipelines.next_word_bundle(path, _pipeline_hparams(hparams))
  bundle.info.vocab_size = bundle.info.total_words
  return bundle


def char_data(hparams: Mapping[str, Any]) -> DataBundle:
  """Next-character windows of a corpus (sonnets.txt by default).

  Raises:
    DataError: a corpus of only white space, or a vocab_size below the
      corpus's number of distinct characters + 1.
  """
  path = data_file(hparams, "sonnets")
  if not readers.read_text(path).strip():
    raise DataError(f"{path}: the corpus is empty (only white space); "
                    f"give a text file to learn characters from.")
  bundle = pipelines.char_corpus_bundle(path, _pipeline_hparams(hparams))
  total_chars = bundle.info.total_words
  wanted = int_hparam(hparams, "vocab_size", minimum=2)
  if wanted is not None and wanted < total_chars:
    raise DataError(
        f"{path}: the corpus has {total_chars - 1} distinct characters, so "
        f"vocab_size must be at least {total_chars} (with padding), got "
        f"{wanted}; leave vocab_size unset to take it from the corpus.")
  bundle.info.vocab_size = total_chars
  return bundle


def validation_split(make_data, hparams: Mapping[str, Any], encoder,
                     batch_size: int) -> tf.data.Dataset | None:
  """The validation split `make_data` trains with, read alone and encoded
  with the run's saved tokenizer (`pipelines.load_inference_encoder`):
  nothing is fitted or learned. None for a dataset without one (the
  generators).

  Args:
    make_data: the recipe's `make_data` (`bbc_data`, `imdb_data`, ...).
    hparams: the run's hyper-parameters (config.json).
    encoder: the run's saved encoder.
    batch_size: texts per batch.

  Raises:
    DataError: the data is missing or unreadable.
  """
  h = _pipeline_hparams(hparams)
  if make_data is bbc_data:
    data, texts, n_train = pipelines.bbc_texts(data_file(h, "bbc-text"), h)
    texts, labels = texts[n_train:], encoder.labels.encode(
        data.labels[n_train:])
  elif make_data is imdb_data:
    texts, labels = pipelines.imdb_validation_texts(
        data_file(h, "imdb"), pipelines.imdb_defaults(h))
    labels = np.asarray(labels, np.float32)
  elif make_data is sentiment_data:
    _, texts, labels, n_train = pipelines.sentiment140_texts(
        data_file(h, "sentiment140-cleaned"), h)
    texts, labels = texts[n_train:], labels[n_train:]
  else:
    return None
  if not len(labels):
    return None
  return encoder.batches(texts, labels, batch_size)
