"""The course's NLP models as registered recipes (course 3).

Registered names (the CLI contract):

* `bbc_embedding`: BBC news, 5 categories (week 2 exercise);
* `imdb_embedding_flatten`, `imdb_embedding_gap`: IMDB reviews with an
  embedding and Flatten / GlobalAveragePooling1D (week 2);
* `imdb_bilstm`, `imdb_stacked_bilstm`, `imdb_gru`, `imdb_conv1d`: IMDB with
  sequence models (week 3);
* `sentiment_glove`: Sentiment140 tweets on frozen GloVe vectors (week 3
  exercise);
* `sonnets_generator`: next-word model on Shakespeare's sonnets (week 4);
* `char_generator`: its next-character twin.

Data. `hparams["data_path"]` names the file (BBC CSV, aclImdb folder or
archive, Sentiment140 CSV, corpus text) and `hparams["glove_path"]` the GloVe
vectors. Without them the course's file is fetched once into the cache
(`data.download`); offline, the error names the file and where to put it.

Sizes from the data. vocab_size (the generators' `total_words`, the GloVe
model's `len(word_index)`) is None by default for `sentiment_glove`,
`sonnets_generator` and `char_generator`, meaning "what the data gives", as
in the course. The rule:

* `make_data(hparams)` fits the tokenizer and, when vocab_size is None,
  writes the number it found into `hparams["vocab_size"]` (so the model
  built afterwards from the same dict, and the config.json that
  trainers.train writes, get it: e.g. 3,211 for sonnets.txt);
* a vocab_size the user sets caps the vocabulary (the tokenizer's
  num_words) and sizes the model (char_generator drops no character, so
  there it must be at least the corpus's distinct characters + 1);
* without data (`trainers.summary`), None builds the course's number (3,211
  total words; 61 characters; 138,858 GloVe words).

So pass a mutable dict to `make_data` (`session.resolve_hparams` returns
one); the registered defaults are read-only.
"""

from __future__ import annotations

import os
import types
from typing import Any, Mapping, MutableMapping

import numpy as np
import tensorflow as tf
from absl import logging

from data import catalog, download
from data.bundle import DataBundle
from data.errors import DataError
from data.text import pipelines, readers
from engine.hooks import Hook
from models import text_models
from models.registry import Recipe, register

COMMON_HPARAMS = {"learning_rate": 1e-3, "batch_size": 32, "seed": 0,
                  "data_path": None}
SAMPLE_TAG = "sample"


# --- data ---------------------------------------------------------------------


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


def _flag(value: Any) -> bool:
  """A boolean hparam, also from the strings --hparam gives."""
  if isinstance(value, str):
    return value.strip().lower() in ("1", "true", "yes")
  return bool(value)


def _pipeline_hparams(hparams: Mapping[str, Any], **overrides: Any) -> dict:
  """A copy for the data pipelines, optional ints converted from strings."""
  h = dict(hparams)
  for key in ("vocab_size", "training_size", "max_sequence_len"):
    if key in h:
      h[key] = text_models.int_hparam(h, key)
  if "one_hot_labels" in h:
    h["one_hot_labels"] = _flag(h["one_hot_labels"])
  h.update(overrides)
  return h


def _record_vocab_size(hparams: Mapping[str, Any], found: int) -> None:
  """Writes the data's vocabulary size into hparams when the user gave none.

  See the module docstring: the model built from the same dict afterwards
  gets the size the data gives.
  """
  if hparams.get("vocab_size") is not None:
    return
  if not isinstance(hparams, MutableMapping):
    raise TypeError("make_data needs a mutable hparams dict to record the "
                    "vocabulary size found in the data; pass "
                    "dict(recipe.hparams).")
  hparams["vocab_size"] = int(found)
  logging.info("vocab_size from the data: %d", found)


def bbc_data(hparams: Mapping[str, Any]) -> DataBundle:
  """BBC news (bbc-text.csv), split 80/20 in file order as the course.

  Raises:
    DataError: bad CSV (a missing column is named), more classes than the
      model's num_classes outputs, or a category that appears only in the
      validation split.
  """
  path = data_file(hparams, "bbc-text")
  bundle = pipelines.bbc_bundle(path, _pipeline_hparams(hparams))
  outputs = text_models.int_hparam(hparams, "num_classes", minimum=2)
  if bundle.extras["num_classes"] > outputs:
    raise DataError(
        f"{path}: {len(bundle.extras['class_names']) - 1} categories need "
        f"{bundle.extras['num_classes']} outputs (ids from 1, as the "
        f"course), but num_classes is {outputs}; set --hparam "
        f"num_classes={bundle.extras['num_classes']}.")
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
  names = bundle.extras.get("class_names") or []
  shown = [names[i] if i < len(names) else str(i) for i in unseen]
  rows = int(np.isin(validation, unseen).sum())
  raise DataError(
      f"{source}: label(s) {', '.join(map(repr, shown))} never occur in the "
      f"training split but in {rows} validation row(s), so the model cannot "
      f"learn them; reorder the file or raise training_portion.")


def imdb_data(hparams: Mapping[str, Any]) -> DataBundle:
  """IMDB reviews (aclImdb folder or archive); validation: the test split,
  else the last 20% of the shuffled train split."""
  path = data_file(hparams, "imdb")
  return pipelines.imdb_bundle(path, _pipeline_hparams(hparams))


def sentiment_data(hparams: Mapping[str, Any]) -> DataBundle:
  """Sentiment140 tweets with the GloVe matrix in `extras`.

  vocab_size counts words (the course's `len(word_index)`), so the
  tokenizer keeps ids 1..vocab_size and the matrix has vocab_size + 1 rows.
  """
  path = data_file(hparams, "sentiment140-cleaned")
  glove_path = data_file(hparams, "glove-6b-100d", key="glove_path")
  words = text_models.int_hparam(hparams, "vocab_size")
  bundle = pipelines.sentiment140_glove_bundle(
      path, glove_path, _pipeline_hparams(
          hparams, vocab_size=None if words is None else words + 1))
  _record_vocab_size(hparams, bundle.extras["vocab_size"] - 1)
  logging.info("GloVe covers %d of %d words", bundle.extras["glove_found"],
               bundle.extras["glove_words"])
  return bundle


def sonnets_data(hparams: Mapping[str, Any]) -> DataBundle:
  """Next-word n-grams of a corpus (sonnets.txt by default)."""
  path = data_file(hparams, "sonnets")
  bundle = pipelines.next_word_bundle(path, _pipeline_hparams(hparams))
  _record_vocab_size(hparams, bundle.extras["total_words"])
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
  total_chars = bundle.extras["total_words"]
  wanted = text_models.int_hparam(hparams, "vocab_size", minimum=2)
  if wanted is not None and wanted < total_chars:
    raise DataError(
        f"{path}: the corpus has {total_chars - 1} distinct characters, so "
        f"vocab_size must be at least {total_chars} (with padding), got "
        f"{wanted}; leave vocab_size unset to take it from the corpus.")
  _record_vocab_size(hparams, total_chars)
  return bundle


# --- hooks --------------------------------------------------------------------


class LoadEmbeddingMatrix(Hook):
  """Copies pre-trained vectors into the model's first layer (an Embedding)
  before the first training step of a fresh run.

  A resumed run (global step > 0) keeps the table from its checkpoint.
  Missing rows (a vocabulary larger than the data's) stay zero.

  Args:
    matrix: float array (rows, dim) with rows <= the table's rows.
  """

  def __init__(self, matrix: np.ndarray):
    self.matrix = np.asarray(matrix, np.float32)

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    if int(trainer.global_step.numpy()) != 0:
      return
    table = trainer.model.layers[0].embeddings
    rows, dim = table.shape
    if self.matrix.shape[0] > rows or self.matrix.shape[1] != dim:
      raise DataError(
          f"the GloVe matrix has shape {self.matrix.shape} but the embedding "
          f"table is ({rows}, {dim}); embedding_dim must equal the GloVe "
          f"vector size and vocab_size must cover the data's words.")
    padded = np.zeros((rows, dim), np.float32)
    padded[:self.matrix.shape[0]] = self.matrix
    table.assign(padded)


class SampleText(Hook):
  """Generates a short text at each epoch end and logs it to TensorBoard.

  The text goes to `train/` as the text summary "sample" at the global
  step (the TEXT tab shows how the generator improves).

  Args:
    tokenizer: the training tokenizer.
    max_length: the model's input length.
    seed_text: where each sample starts; when it has no known token, the
      most frequent token is used instead (with a warning).
    length: tokens (words or characters) to generate.
  """

  def __init__(self, tokenizer, max_length: int, seed_text: str,
               length: int):
    self.tokenizer, self.max_length = tokenizer, max_length
    self.seed_text, self.length = seed_text, length
    self._generator = None
    self.last_sample: str | None = None

  def _usable_seed(self, generator) -> str:
    try:
      generator.seed_ids(self.seed_text)
      return self.seed_text
    except DataError:
      fallback = self.tokenizer.index_word[1]
      logging.warning("sample seed text %r has no known token; sampling from "
                      "%r instead", self.seed_text, fallback)
      self.seed_text = fallback
      return fallback

  def on_epoch_end(self, trainer, epoch: int, logs) -> bool:
    if self._generator is None:
      self._generator = text_models.TextGenerator(
          trainer.model, self.tokenizer, self.max_length)
    seed = self._usable_seed(self._generator)
    self.last_sample = self._generator.generate(seed, self.length)
    trainer.writers.text("train", SAMPLE_TAG, self.last_sample,
                         int(trainer.global_step.numpy()))
    return False


def glove_hooks(hparams: Mapping[str, Any], data: DataBundle) -> list[Hook]:
  """The frozen embedding's GloVe initialisation."""
  del hparams
  return [LoadEmbeddingMatrix(data.extras["embedding_matrix"])]


def sample_hooks(hparams: Mapping[str, Any], data: DataBundle) -> list[Hook]:
  """An epoch-end text sample from `sample_seed_text`."""
  return [SampleText(data.extras["tokenizer"], data.extras["max_length"],
                     str(hparams["sample_seed_text"]),
                     text_models.int_hparam(hparams, "sample_length",
                                            minimum=0))]


# --- input shapes for trainers.summary ---------------------------------------


def _fixed_length(hparams: Mapping[str, Any]) -> tuple:
  return ((text_models.int_hparam(hparams, "max_length"),), tf.int32)


def _any_length(hparams: Mapping[str, Any]) -> tuple:
  del hparams
  return ((None,), tf.int32)


def _next_word_length(hparams: Mapping[str, Any]) -> tuple:
  full = text_models.int_hparam(hparams, "max_sequence_len", minimum=2)
  length = text_models.SONNETS_INPUT_LENGTH if full is None else full - 1
  return ((length,), tf.int32)


# --- recipes ------------------------------------------------------------------


def _hparams(**values: Any) -> Mapping[str, Any]:
  """Read-only defaults: COMMON_HPARAMS updated by `values`."""
  return types.MappingProxyType(dict(COMMON_HPARAMS, **values))


_BBC = _hparams(epochs=30, vocab_size=1000, embedding_dim=16, max_length=120,
                trunc_type="post", padding_type="post", oov_tok="<OOV>",
                training_portion=0.8, remove_stopwords=True, num_classes=6)
_IMDB = dict(epochs=10, vocab_size=10000, embedding_dim=16, max_length=120,
             trunc_type="post", padding_type="pre", oov_tok="<OOV>",
             training_portion=0.8, strip_html=True)
_CLASSIFIER = dict(loss="binary_crossentropy", metrics=("accuracy",),
                   optimizer="adam", make_data=imdb_data)

BBC_EMBEDDING = register(Recipe(
    name="bbc_embedding",
    description="BBC news in 5 categories: Embedding(1000, 16) + global "
                "average pooling + Dense 24 + softmax (course 3 week 2)",
    build_model=text_models.build_bbc_embedding, make_data=bbc_data,
    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
    optimizer="adam", hparams=_BBC, input_shape=_fixed_length))

IMDB_EMBEDDING_FLATTEN = register(Recipe(
    name="imdb_embedding_flatten",
    description="IMDB sentiment: Embedding(10000, 16) + Flatten + Dense 6 + "
                "sigmoid (course 3 week 2)",
    build_model=lambda h: text_models.build_imdb_embedding(h, "flatten"),
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_EMBEDDING_GAP = register(Recipe(
    name="imdb_embedding_gap",
    description="IMDB sentiment: Embedding(10000, 16) + global average "
                "pooling + Dense 6 + sigmoid (course 3 week 2)",
    build_model=lambda h: text_models.build_imdb_embedding(h, "gap"),
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_BILSTM = register(Recipe(
    name="imdb_bilstm",
    description="IMDB sentiment: Embedding 64 + bidirectional LSTM 64 + "
                "Dense 64 + sigmoid, any length (course 3 week 3)",
    build_model=text_models.build_imdb_bilstm,
    hparams=_hparams(**dict(_IMDB, embedding_dim=64, batch_size=64)),
    input_shape=_any_length, **_CLASSIFIER))

IMDB_STACKED_BILSTM = register(Recipe(
    name="imdb_stacked_bilstm",
    description="IMDB sentiment: Embedding 64 + bidirectional LSTMs 64 and "
                "32 + Dense 64 + sigmoid, any length (course 3 week 3)",
    build_model=text_models.build_imdb_stacked_bilstm,
    hparams=_hparams(**dict(_IMDB, embedding_dim=64, batch_size=64)),
    input_shape=_any_length, **_CLASSIFIER))

IMDB_GRU = register(Recipe(
    name="imdb_gru",
    description="IMDB sentiment: Embedding 16 + bidirectional GRU 32 + "
                "Dense 6 + sigmoid (course 3 week 3)",
    build_model=text_models.build_imdb_gru,
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_CONV1D = register(Recipe(
    name="imdb_conv1d",
    description="IMDB sentiment: Embedding 16 + Conv1D 128x5 + global max "
                "pooling + Dense 24 + sigmoid (course 3 week 3)",
    build_model=text_models.build_imdb_conv1d,
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

SENTIMENT_GLOVE = register(Recipe(
    name="sentiment_glove",
    description="Sentiment140 tweets: frozen GloVe 100d embedding + Dropout "
                "+ Conv1D 64 + max pooling + LSTM 64 + sigmoid (course 3 "
                "week 3 exercise)",
    build_model=text_models.build_sentiment_glove, make_data=sentiment_data,
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="adam",
    hparams=_hparams(epochs=50, vocab_size=None, embedding_dim=100,
                     max_length=16, trunc_type="post", padding_type="post",
                     oov_tok=None, training_size=160000, test_portion=0.1,
                     dropout=0.2, glove_path=None),
    input_shape=_fixed_length, extra_hooks=glove_hooks))

SONNETS_GENERATOR = register(Recipe(
    name="sonnets_generator",
    description="next-word generator on Shakespeare's sonnets: Embedding "
                "100 + BiLSTM 150 + Dropout + LSTM 100 + Dense total/2 (L2) + "
                "softmax (course 3 week 4)",
    build_model=text_models.build_sonnets_generator, make_data=sonnets_data,
    loss=lambda hparams: ("categorical_crossentropy"
                          if _flag(hparams.get("one_hot_labels"))
                          else "sparse_categorical_crossentropy"),
    metrics=("accuracy",),
    optimizer="adam",
    hparams=_hparams(epochs=100, vocab_size=None, embedding_dim=100,
                     bilstm_units=150, lstm_units=100, dropout=0.2, l2=0.01,
                     oov_tok=None, max_sequence_len=None,
                     one_hot_labels=False,
                     sample_seed_text="Help me Obi Wan Kenobi, you're my "
                                      "only hope",
                     sample_length=20),
    input_shape=_next_word_length, extra_hooks=sample_hooks))

CHAR_GENERATOR = register(Recipe(
    name="char_generator",
    description="next-character generator: Embedding 32 + LSTM 128 + "
                "softmax over characters, 40-character windows",
    build_model=text_models.build_char_generator, make_data=char_data,
    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
    optimizer="rmsprop",
    hparams=_hparams(learning_rate=0.01, batch_size=128, epochs=20,
                     vocab_size=None, embedding_dim=32, lstm_units=128,
                     max_length=40, window_shift=3, lower=False,
                     sample_seed_text="From fairest creatures ",
                     sample_length=200),
    input_shape=_fixed_length, extra_hooks=sample_hooks))
