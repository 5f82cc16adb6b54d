"""The course's NLP models as registered recipes (course 3).

Registered names (the CLI contract):

* `bbc_embedding`: BBC news, 5 categories (week 2 exercise;
  `--tokenizer=subword` learns a subword vocabulary of vocab_size ids from
  the training texts instead of indexing words);
* `imdb_embedding_flatten`, `imdb_embedding_gap`: IMDB reviews with an
  embedding and Flatten / GlobalAveragePooling1D (week 2);
* `imdb_bilstm`, `imdb_stacked_bilstm`, `imdb_gru`, `imdb_conv1d`: IMDB with
  sequence models (week 3);
* `sentiment_glove`: Sentiment140 tweets on frozen GloVe vectors (week 3
  exercise; words only: `--tokenizer=subword` is refused, GloVe has no
  vectors for subword pieces);
* `imdb_subwords_gap`, `imdb_subwords_bilstm`, `imdb_subwords_stacked_bilstm`,
  `imdb_subwords_conv1d`: the course's subwords8k models on a subword
  vocabulary learned from the reviews (weeks 2-3; `--tokenizer=subword`
  switches any imdb_* recipe to it);
* `sonnets_generator`: next-word model on Shakespeare's sonnets (week 4);
* `char_generator`: its next-character twin.

`TextClassifierServing` (`SubwordClassifierServing` for subword runs) and
`TextGeneratorServing` are the exported forms (trainers.export): raw
sentences in, with the trained tokenizer in the graph.

Data. `hparams["data_path"]` names the file (BBC CSV, aclImdb folder or
archive, Sentiment140 CSV, corpus text) and `hparams["glove_path"]` the GloVe
vectors. Without them the course's file is fetched once into the cache
(`data.download`); offline, the error names the file and where to put it.
The loaders are `data.text.datasets`.

Sizes from the data. vocab_size (the generators' `total_words`, the GloVe
model's `len(word_index)`) is None by default for `sentiment_glove`,
`sonnets_generator` and `char_generator`, meaning "what the data gives", as
in the course. The rule:

* `make_data(hparams)` fits the tokenizer and reports the number it found
  as `bundle.info.vocab_size`; `data.bundle.model_hparams(hparams,
  bundle.info)` fills a None vocab_size with it, and the trainers build the
  model from, and write config.json with, those hparams (e.g. 3,211 for
  sonnets.txt), so a restored model needs no data;
* a vocab_size the user sets caps the vocabulary (the tokenizer's
  num_words) and sizes the model (char_generator drops no character, so
  there it must be at least the corpus's distinct characters + 1);
* without data (`trainers.summary`), None builds the course's number (3,211
  total words; 61 characters; 138,858 GloVe words).
"""


from __future__ import annotations

import types
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from data.bundle import DataBundle
from data.errors import DataError
from data.hparams import bool_hparam_value, float_hparam, int_hparam
from data.text import datasets
from data.text.graph_tokenizer import GraphTokenizer
from data.text.padding import pad_sequences
from data.text.tokenizer import Tokenizer
from engine import export
from engine.hooks import Hook
from engine.modules.basic import Dropout, Flatten
from engine.modules.conv import Conv1D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.pool import (GlobalAveragePooling1D, GlobalMaxPooling1D,
                                 MaxPool1D)
from engine.modules.recurrent import GRU, LSTM
from engine.modules.sequential import Sequential
from engine.modules.wrappers import Bidirectional
from models.registry import Recipe, register

COMMON_HPARAMS = {"learning_rate": 1e-3, "batch_size": 32, "seed": 0,
                  "data_path": None}
SAMPLE_TAG = "sample"
WORD, SUBWORD = datasets.WORD, datasets.SUBWORD


# --- architectures ------------------------------------------------------------

# Sizes the course's data gives, used when a size is "from the data"
# (hparam None) and no data was read, e.g. by trainers.summary.
SONNETS_TOTAL_WORDS = 3211
SONNETS_INPUT_LENGTH = 10  # max_sequence_len 11, minus the label.
SONNETS_TOTAL_CHARS = 61  # 60 distinct characters (case kept) + padding.
SENTIMENT140_WORDS = 138858  # len(word_index) of the course's 160,000 tweets.


def _embedding(hparams: Mapping[str, Any], fixed_length: bool,
               **kwargs: Any) -> Embedding:
  """Embedding(vocab_size, embedding_dim), length-checked if fixed_length."""
  length = int_hparam(hparams, "max_length") if fixed_length else None
  return Embedding(int_hparam(hparams, "vocab_size"),
                   int_hparam(hparams, "embedding_dim"), input_length=length,
                   **kwargs)


# --- classifiers --------------------------------------------------------------


def build_bbc_embedding(hparams: Mapping[str, Any]) -> Sequential:
  """BBC news: Embedding -> GAP -> Dense 24 relu -> Dense softmax.

  Args:
    hparams: vocab_size, embedding_dim, max_length and num_classes (6: the
      five categories ranked from id 1, as the course's label tokenizer).
  """
  return Sequential([
      _embedding(hparams, fixed_length=True),
      GlobalAveragePooling1D(),
      Dense(24, activation="relu"),
      Dense(int_hparam(hparams, "num_classes", minimum=2),
            activation="softmax"),
  ], name="bbc_embedding")


def build_imdb_embedding(hparams: Mapping[str, Any],
                         pooling: str = "flatten") -> Sequential:
  """IMDB: Embedding -> Flatten or GAP -> Dense 6 relu -> Dense 1 sigmoid.

  Args:
    hparams: vocab_size, embedding_dim, max_length.
    pooling: "flatten" (course's first model) or "gap"
      (GlobalAveragePooling1D).

  Raises:
    ValueError: an unknown pooling.
  """
  if pooling not in ("flatten", "gap"):
    raise ValueError(f"pooling must be 'flatten' or 'gap', got {pooling!r}.")
  reduce = Flatten() if pooling == "flatten" else GlobalAveragePooling1D()
  return Sequential([
      _embedding(hparams, fixed_length=True),
      reduce,
      Dense(6, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name=f"imdb_embedding_{pooling}")


def build_imdb_bilstm(hparams: Mapping[str, Any]) -> Sequential:
  """IMDB: Embedding -> Bidirectional LSTM 64 -> Dense 64 relu -> sigmoid.

  Takes sequences of any length, like the course's subword model.
  """
  return Sequential([
      _embedding(hparams, fixed_length=False),
      Bidirectional(LSTM(64)),
      Dense(64, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name="imdb_bilstm")


def build_imdb_stacked_bilstm(hparams: Mapping[str, Any]) -> Sequential:
  """IMDB: Embedding -> BiLSTM 64 (sequences) -> BiLSTM 32 -> Dense 64 -> 1.

  Takes sequences of any length, like the course's subword model.
  """
  return Sequential([
      _embedding(hparams, fixed_length=False),
      Bidirectional(LSTM(64, return_sequences=True)),
      Bidirectional(LSTM(32)),
      Dense(64, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name="imdb_stacked_bilstm")


def build_imdb_gru(hparams: Mapping[str, Any]) -> Sequential:
  """IMDB: Embedding -> Bidirectional GRU 32 -> Dense 6 relu -> sigmoid."""
  return Sequential([
      _embedding(hparams, fixed_length=True),
      Bidirectional(GRU(32)),
      Dense(6, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name="imdb_gru")


def build_imdb_conv1d(hparams: Mapping[str, Any]) -> Sequential:
  """IMDB: Embedding -> Conv1D 128 k5 relu -> GlobalMaxPooling1D -> 24 -> 1."""
  return Sequential([
      _embedding(hparams, fixed_length=True),
      Conv1D(128, 5, activation="relu"),
      GlobalMaxPooling1D(),
      Dense(24, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name="imdb_conv1d")


def build_imdb_subwords_conv1d(hparams: Mapping[str, Any]) -> Sequential:
  """IMDB subwords: Embedding -> Conv1D 128 k5 relu -> GAP -> 64 -> 1.

  The course's subwords8k convolution (573,249 parameters at 8,185 x 64);
  takes sequences of any length.
  """
  return Sequential([
      _embedding(hparams, fixed_length=False),
      Conv1D(128, 5, activation="relu"),
      GlobalAveragePooling1D(),
      Dense(64, activation="relu"),
      Dense(1, activation="sigmoid"),
  ], name="imdb_subwords_conv1d")


def build_sentiment_glove(hparams: Mapping[str, Any]) -> Sequential:
  """Sentiment140: frozen GloVe Embedding(vocab_size + 1, 100) -> ... -> 1.

  The table starts at zero; the recipe's `initialize`
  (`load_glove_vectors`) copies the GloVe matrix in when the model is built
  for training (a restored run reads it from the checkpoint).

  Args:
    hparams: vocab_size (the number of words, the course's
      `len(word_index)`; the table has vocab_size + 1 rows; None before the
      data is read, which builds the course's 138,858), embedding_dim (100),
      max_length (16), dropout (0.2).
  """
  words = int_hparam(hparams, "vocab_size", SENTIMENT140_WORDS)
  return Sequential([
      Embedding(words + 1, int_hparam(hparams, "embedding_dim"),
                input_length=int_hparam(hparams, "max_length"),
                trainable=False),
      Dropout(float_hparam(hparams, "dropout")),
      Conv1D(64, 5, activation="relu"),
      MaxPool1D(pool_size=4),
      LSTM(64),
      Dense(1, activation="sigmoid"),
  ], name="sentiment_glove")


# --- generators ---------------------------------------------------------------


def build_sonnets_generator(hparams: Mapping[str, Any]) -> Sequential:
  """Next word: Embedding -> BiLSTM (sequences) -> Dropout -> LSTM -> 2 Dense.

  `Dense(total_words // 2, relu, L2)` then `Dense(total_words, softmax)`, as
  the course's sonnets model; total_words is hparam vocab_size (the
  course's 3,211 when it is None, i.e. before the corpus is read).

  Args:
    hparams: vocab_size, embedding_dim (100), bilstm_units (150), dropout
      (0.2), lstm_units (100), l2 (0.01).
  """
  total_words = int_hparam(hparams, "vocab_size", SONNETS_TOTAL_WORDS,
                           minimum=2)
  return Sequential([
      Embedding(total_words, int_hparam(hparams, "embedding_dim")),
      Bidirectional(LSTM(int_hparam(hparams, "bilstm_units"),
                         return_sequences=True)),
      Dropout(float_hparam(hparams, "dropout")),
      LSTM(int_hparam(hparams, "lstm_units")),
      Dense(max(total_words // 2, 1), activation="relu",
            kernel_l2=float_hparam(hparams, "l2")),
      Dense(total_words, activation="softmax"),
  ], name="sonnets_generator")


def build_char_generator(hparams: Mapping[str, Any]) -> Sequential:
  """Next character: Embedding -> LSTM -> Dense(total_chars, softmax).

  The character-level twin of the sonnets model, sized like Keras's
  classic character LSTM example (40-character windows, LSTM 128).

  Args:
    hparams: vocab_size (distinct characters + 1; the sonnets' 61 when
      None), embedding_dim (32), lstm_units (128).
  """
  total_chars = int_hparam(hparams, "vocab_size", SONNETS_TOTAL_CHARS,
                           minimum=2)
  return Sequential([
      Embedding(total_chars, int_hparam(hparams, "embedding_dim")),
      LSTM(int_hparam(hparams, "lstm_units")),
      Dense(total_chars, activation="softmax"),
  ], name="char_generator")


# --- generation ---------------------------------------------------------------


def choose_token(probabilities: np.ndarray, temperature: float = 0.0,
                 top_k: int = 0, rng: np.random.Generator | None = None
                 ) -> int:
  """Picks the next token id from a model's output distribution.

  Id 0 (padding) is never picked.

  Args:
    probabilities: one row of softmax outputs, shape (num_tokens,).
    temperature: 0 picks the most likely id (greedy); > 0 samples from
      `p ** (1 / temperature)`, renormalised (below 1 sharpens, above 1
      flattens).
    top_k: when > 0, sample only among the k most likely ids.
    rng: the random generator for sampling (seed it to repeat a run).

  Returns:
    The chosen id.

  Raises:
    ValueError: a negative temperature or top_k.
  """
  if temperature < 0 or top_k < 0:
    raise ValueError(f"temperature and top_k must be >= 0, got "
                     f"temperature={temperature}, top_k={top_k}.")
  p = np.asarray(probabilities, np.float64).copy()
  p[0] = 0.0
  if temperature == 0:
    return int(np.argmax(p))
  logits = np.log(np.maximum(p, 1e-300)) / temperature
  logits[0] = -np.inf
  if top_k:
    cutoff = np.sort(logits)[-min(top_k, len(logits) - 1)]
    logits[logits < cutoff] = -np.inf
  weights = np.exp(logits - logits.max())
  rng = rng or np.random.default_rng()
  return int(rng.choice(len(weights), p=weights / weights.sum()))


class TextGenerator:
  """Extends a seed text with a trained next-token model.

  Each step encodes the text so far with the training tokenizer, pads/cuts
  it ("pre") to the model's input length, and appends the chosen token:
  a word (joined by spaces) or, for a character-level tokenizer, a
  character.

  Example:
    generator = TextGenerator(model, tokenizer, max_length=10)
    generator.generate("help me obi wan", next_words=10)            # greedy
    generator.generate("help me", 10, temperature=0.8, top_k=20, seed=1)
  """

  def __init__(self, model, tokenizer: Tokenizer, max_length: int):
    """Wraps a model and the tokenizer it was trained with.

    Args:
      model: callable `model(ids, training=False) -> (batch, num_tokens)`
        softmax probabilities.
      tokenizer: the fitted training tokenizer.
      max_length: the model's input length (features per example).
    """
    self.tokenizer = tokenizer
    self.max_length = int(max_length)
    self._num_tokens = tokenizer.vocab_size
    self._predict = tf.function(
        lambda ids: model(ids, training=False),
        input_signature=[tf.TensorSpec([None, self.max_length], tf.int32)])

  def seed_ids(self, seed_text: str) -> list[int]:
    """The ids of the seed text's known tokens.

    Raises:
      DataError: no token of the seed text is in the vocabulary.
    """
    ids = self.tokenizer.texts_to_sequences([seed_text])[0]
    oov = self.tokenizer.oov_index
    if not [i for i in ids if i != oov]:
      kind = "character" if self.tokenizer.char_level else "word"
      examples = ", ".join(repr(self.tokenizer.index_word[i])
                           for i in sorted(self.tokenizer.index_word)[:5])
      raise DataError(
          f"seed text {seed_text!r} has no {kind} of the training vocabulary "
          f"({len(self.tokenizer.word_index)} {kind}s, e.g. {examples}); "
          f"start it with words of the corpus.")
    return ids

  def next_token_probabilities(self, ids: Sequence[int]) -> np.ndarray:
    """The model's distribution over the next token after `ids`."""
    x = pad_sequences([list(ids)], maxlen=self.max_length, padding="pre",
                      truncating="pre")
    probabilities = self._predict(tf.constant(x, tf.int32)).numpy()[0]
    # Outputs past the vocabulary (a vocab_size above the corpus's) have no
    # token to print.
    probabilities[self._num_tokens:] = 0.0
    return probabilities

  def generate(self, seed_text: str, next_words: int,
               temperature: float = 0.0, top_k: int = 0,
               seed: int | None = None) -> str:
    """The seed text followed by `next_words` generated tokens.

    Args:
      seed_text: where to start; needs at least one known token.
      next_words: tokens to add (words, or characters for a char model).
      temperature: 0 for greedy decoding; see `choose_token`.
      top_k: restrict sampling to the k most likely tokens (0: all).
      seed: seeds the sampling, so a run can be repeated.

    Returns:
      The extended text.

    Raises:
      DataError: the seed text has no known token.
      ValueError: negative next_words, temperature or top_k.
    """
    if next_words < 0:
      raise ValueError(f"next_words must be >= 0, got {next_words}.")
    ids = self.seed_ids(seed_text)
    rng = np.random.default_rng(seed)
    tokens = []
    for _ in range(next_words):
      token = choose_token(self.next_token_probabilities(ids), temperature,
                           top_k, rng)
      ids.append(token)
      tokens.append(self.tokenizer.index_word.get(token, ""))
    if self.tokenizer.char_level:
      return seed_text + "".join(tokens)
    return " ".join([seed_text, *tokens]) if tokens else seed_text


# --- subwords -----------------------------------------------------------------


class SubwordSample(Hook):
  """Logs how the subword tokenizer splits a training text (TEXT tab).

  At the first epoch of a fresh run it writes to `train/`, as the text
  summary "subwords", the course's listing `id ----> piece` of the text's
  first `max_pieces` pieces, and the decoded text.

  Args:
    tokenizer: the run's `SubwordTokenizer`.
    text: the text to show (a training review).
    max_pieces: pieces listed.
  """

  TAG = "subwords"

  def __init__(self, tokenizer, text: str, max_pieces: int = 40):
    self.tokenizer, self.text, self.max_pieces = tokenizer, text, max_pieces
    self.last_sample: str | None = None

  def render(self) -> str:
    """The Markdown the hook writes."""
    ids = self.tokenizer.encode(self.text)[:self.max_pieces]
    rows = [f"| {i} | `{self.tokenizer.index_word.get(i, '?')}` | "
            f"`{self.tokenizer.decode([i])}` |" for i in ids]
    return "\n".join(
        [f"vocab_size {self.tokenizer.vocab_size}; the first {len(ids)} "
         f"pieces of a training text:", "", "| id | piece | decode([id]) |",
         "|---|---|---|", *rows, "", "decoded: " +
         self.tokenizer.decode(ids)])

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    if int(trainer.global_step.numpy()) != 0:
      return
    self.last_sample = self.render()
    trainer.writers.text("train", self.TAG, self.last_sample, 0)


def subword_hooks(hparams: Mapping[str, Any], data: DataBundle) -> list[Hook]:
  """The subword listing of a subword run (none for words)."""
  if datasets.tokenizer_kind(hparams) != SUBWORD:
    return []
  return [SubwordSample(data.info.tokenizer, data.info.sample_text)]


# --- hooks --------------------------------------------------------------------


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
      self._generator = TextGenerator(
          trainer.model, self.tokenizer, self.max_length)
    seed = self._usable_seed(self._generator)
    self.last_sample = self._generator.generate(seed, self.length)
    trainer.writers.text("train", SAMPLE_TAG, self.last_sample,
                         int(trainer.global_step.numpy()))
    return False


def load_glove_vectors(model, info) -> None:
  """The GloVe recipe's `initialize`: the embedding table starts from the
  data's GloVe matrix (`info.embedding_matrix`).

  Run on a freshly built model; a resumed run's checkpoint then overwrites
  it. Missing rows (a vocabulary larger than the data's) stay zero.

  Raises:
    DataError: the matrix does not fit the table.
  """
  table = model.layers[0].embeddings
  matrix = np.asarray(info.embedding_matrix, np.float32)
  rows, dim = table.shape
  if matrix.shape[0] > rows or matrix.shape[1] != dim:
    raise DataError(
        f"the GloVe matrix has shape {matrix.shape} but the embedding table "
        f"is ({rows}, {dim}); embedding_dim must equal the GloVe vector size "
        f"and vocab_size must cover the data's words.")
  padded = np.zeros((rows, dim), np.float32)
  padded[:matrix.shape[0]] = matrix
  table.assign(padded)


def sample_hooks(hparams: Mapping[str, Any], data: DataBundle) -> list[Hook]:
  """An epoch-end text sample from `sample_seed_text`."""
  return [SampleText(data.info.tokenizer, data.info.max_length,
                     str(hparams["sample_seed_text"]),
                     int_hparam(hparams, "sample_length",
                                            minimum=0))]


# --- input shapes for trainers.summary ---------------------------------------


def _fixed_length(hparams: Mapping[str, Any]) -> tuple:
  return ((int_hparam(hparams, "max_length"),), tf.int32)


def _any_length(hparams: Mapping[str, Any]) -> tuple:
  del hparams
  return ((None,), tf.int32)


def _next_word_length(hparams: Mapping[str, Any]) -> tuple:
  full = int_hparam(hparams, "max_sequence_len", minimum=2)
  length = SONNETS_INPUT_LENGTH if full is None else full - 1
  return ((length,), tf.int32)


# --- recipes ------------------------------------------------------------------


def _hparams(**values: Any) -> Mapping[str, Any]:
  """Read-only defaults: COMMON_HPARAMS updated by `values`."""
  return types.MappingProxyType(dict(COMMON_HPARAMS, **values))


_BBC = _hparams(epochs=30, vocab_size=1000, embedding_dim=16, max_length=120,
                trunc_type="post", padding_type="post", oov_tok="<OOV>",
                training_portion=0.8, remove_stopwords=True, num_classes=6,
                tokenizer=WORD)
_IMDB = dict(epochs=10, vocab_size=10000, embedding_dim=16, max_length=120,
             trunc_type="post", padding_type="pre", oov_tok="<OOV>",
             training_portion=0.8, tokenizer=WORD, strip_html=True)
_CLASSIFIER = dict(loss="binary_crossentropy", metrics=("accuracy",),
                   optimizer="adam", make_data=datasets.imdb_data,
                   extra_hooks=subword_hooks)

BBC_EMBEDDING = register(Recipe(
    name="bbc_embedding",
    description="BBC news in 5 categories: Embedding(1000, 16) + global "
                "average pooling + Dense 24 + softmax (course 3 week 2)",
    build_model=build_bbc_embedding, make_data=datasets.bbc_data,
    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
    optimizer="adam", hparams=_BBC, input_shape=_fixed_length,
    extra_hooks=subword_hooks))

IMDB_EMBEDDING_FLATTEN = register(Recipe(
    name="imdb_embedding_flatten",
    description="IMDB sentiment: Embedding(10000, 16) + Flatten + Dense 6 + "
                "sigmoid (course 3 week 2)",
    build_model=lambda h: build_imdb_embedding(h, "flatten"),
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_EMBEDDING_GAP = register(Recipe(
    name="imdb_embedding_gap",
    description="IMDB sentiment: Embedding(10000, 16) + global average "
                "pooling + Dense 6 + sigmoid (course 3 week 2)",
    build_model=lambda h: build_imdb_embedding(h, "gap"),
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_BILSTM = register(Recipe(
    name="imdb_bilstm",
    description="IMDB sentiment: Embedding 64 + bidirectional LSTM 64 + "
                "Dense 64 + sigmoid, any length (course 3 week 3)",
    build_model=build_imdb_bilstm,
    hparams=_hparams(**dict(_IMDB, embedding_dim=64, batch_size=64)),
    input_shape=_any_length, **_CLASSIFIER))

IMDB_STACKED_BILSTM = register(Recipe(
    name="imdb_stacked_bilstm",
    description="IMDB sentiment: Embedding 64 + bidirectional LSTMs 64 and "
                "32 + Dense 64 + sigmoid, any length (course 3 week 3)",
    build_model=build_imdb_stacked_bilstm,
    hparams=_hparams(**dict(_IMDB, embedding_dim=64, batch_size=64)),
    input_shape=_any_length, **_CLASSIFIER))

IMDB_GRU = register(Recipe(
    name="imdb_gru",
    description="IMDB sentiment: Embedding 16 + bidirectional GRU 32 + "
                "Dense 6 + sigmoid (course 3 week 3)",
    build_model=build_imdb_gru,
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

IMDB_CONV1D = register(Recipe(
    name="imdb_conv1d",
    description="IMDB sentiment: Embedding 16 + Conv1D 128x5 + global max "
                "pooling + Dense 24 + sigmoid (course 3 week 3)",
    build_model=build_imdb_conv1d,
    hparams=_hparams(**_IMDB), input_shape=_fixed_length, **_CLASSIFIER))

SENTIMENT_GLOVE = register(Recipe(
    name="sentiment_glove",
    description="Sentiment140 tweets: frozen GloVe 100d embedding + Dropout "
                "+ Conv1D 64 + max pooling + LSTM 64 + sigmoid (course 3 "
                "week 3 exercise)",
    build_model=build_sentiment_glove, make_data=datasets.sentiment_data,
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="adam",
    hparams=_hparams(epochs=50, vocab_size=None, embedding_dim=100,
                     max_length=16, trunc_type="post", padding_type="post",
                     oov_tok=None, training_size=160000, test_portion=0.1,
                     dropout=0.2, glove_path=None, tokenizer=WORD),
    input_shape=_fixed_length, initialize=load_glove_vectors))

SONNETS_GENERATOR = register(Recipe(
    name="sonnets_generator",
    description="next-word generator on Shakespeare's sonnets: Embedding "
                "100 + BiLSTM 150 + Dropout + LSTM 100 + Dense total/2 (L2) + "
                "softmax (course 3 week 4)",
    build_model=build_sonnets_generator, make_data=datasets.sonnets_data,
    loss=lambda hparams: ("categorical_crossentropy"
                          if bool_hparam_value(hparams.get("one_hot_labels"))
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
    build_model=build_char_generator, make_data=datasets.char_data,
    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
    optimizer="rmsprop",
    hparams=_hparams(learning_rate=0.01, batch_size=128, epochs=20,
                     vocab_size=None, embedding_dim=32, lstm_units=128,
                     max_length=40, window_shift=3, lower=False,
                     sample_seed_text="From fairest creatures ",
                     sample_length=200),
    input_shape=_fixed_length, extra_hooks=sample_hooks))


# --- the course's subword models (course 3 weeks 2-3, imdb_reviews/subwords8k)

_SUBWORDS = _hparams(**dict(
    _IMDB, tokenizer=SUBWORD, vocab_size=8185, embedding_dim=64,
    max_length=None, padding_type="post", trunc_type="post", batch_size=64))

IMDB_SUBWORDS_GAP = register(Recipe(
    name="imdb_subwords_gap",
    description="IMDB on 8k subwords: Embedding(8185, 64) + global average "
                "pooling + Dense 6 + sigmoid, any length (course 3 week 2)",
    build_model=lambda h: build_imdb_embedding(h, "gap"),
    hparams=_SUBWORDS, input_shape=_any_length, **_CLASSIFIER))

IMDB_SUBWORDS_BILSTM = register(Recipe(
    name="imdb_subwords_bilstm",
    description="IMDB on 8k subwords: Embedding(8185, 64) + bidirectional "
                "LSTM 64 + Dense 64 + sigmoid (course 3 week 3)",
    build_model=build_imdb_bilstm,
    hparams=_SUBWORDS, input_shape=_any_length, **_CLASSIFIER))

IMDB_SUBWORDS_STACKED_BILSTM = register(Recipe(
    name="imdb_subwords_stacked_bilstm",
    description="IMDB on 8k subwords: Embedding(8185, 64) + bidirectional "
                "LSTMs 64 and 32 + Dense 64 + sigmoid (course 3 week 3)",
    build_model=build_imdb_stacked_bilstm,
    hparams=_SUBWORDS, input_shape=_any_length, **_CLASSIFIER))

IMDB_SUBWORDS_CONV1D = register(Recipe(
    name="imdb_subwords_conv1d",
    description="IMDB on 8k subwords: Embedding(8185, 64) + Conv1D 128x5 + "
                "global average pooling + Dense 64 + sigmoid (course 3 "
                "week 3)",
    build_model=build_imdb_subwords_conv1d,
    hparams=_SUBWORDS, input_shape=_any_length, **_CLASSIFIER))


# == Serving (trainers.export): raw text in, classes or text out =============


class TextClassifierServing(export.ClassifierServing):
  """Sentences or padded ids -> probabilities, class ids and names.

  Args:
    model: the trained text classifier.
    tokenizer: a `GraphTokenizer` built from the run's saved tokenizer.
    class_names: name per class id.
    num_outputs: the model's output width (1 for a sigmoid).
    name: the module's name.
  """

  def __init__(self, model, tokenizer: GraphTokenizer,
               class_names: Sequence[str], num_outputs: int,
               name: str = "text_classifier"):
    super().__init__(model, class_names, num_outputs, True, name=name)
    self.tokenizer = tokenizer
    ids_spec = tf.TensorSpec([None, tokenizer.max_length], tf.int32,
                             name="ids")
    # No tensor-dependent Python control flow here: AutoGraph would only
    # spend time converting the tokenizer and model code (1 s of the 1.3 s
    # a subword classifier took to trace).
    self.classify_texts = tf.function(
        lambda texts: self._outputs(self.tokenizer(texts)),
        input_signature=[tf.TensorSpec([None], tf.string, name="texts")],
        autograph=False)
    self.classify_ids = tf.function(
        lambda ids: self._outputs(self._model_ids(ids)),
        input_signature=[ids_spec], autograph=False)
    self.model_input = tf.function(
        lambda ids: self.model(self._model_ids(ids), training=False),
        input_signature=[ids_spec], autograph=False)

  def _model_ids(self, ids: tf.Tensor) -> tf.Tensor:
    """Ids given to `classify_ids` / `model_input`, as the model takes them
    (word runs: already padded to the signature's fixed length)."""
    return ids

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.classify_texts.get_concrete_function(),
            "classify_ids": self.classify_ids.get_concrete_function()}


class SubwordClassifierServing(TextClassifierServing):
  """Sentences or subword ids -> probabilities, class ids and names.

  The subword run's twin of `TextClassifierServing` (same signatures):
  `serving_default` takes `texts` and tokenizes them in the graph with the
  run's `SubwordTokenizer` (tensorflow-text ops: a program that loads the
  SavedModel imports `tensorflow_text` first), padding each batch as
  training did: to the run's max_length, or to the batch's longest text (at
  least 5 steps) for a run of any length. `classify_ids` and `model_input`
  (TFLite) take ids: of any length for such a run (short rows padded to 5
  steps), else of max_length.

  Args:
    model: the trained text classifier.
    encoder: a `data.text.subword_graph.SubwordGraphEncoder` of the run.
    class_names: name per class id.
    num_outputs: the model's output width (1 for a sigmoid).
  """

  def __init__(self, model, encoder, class_names: Sequence[str],
               num_outputs: int):
    super().__init__(model, encoder, class_names, num_outputs,
                     name="subword_classifier")

  def _model_ids(self, ids: tf.Tensor) -> tf.Tensor:
    return self.tokenizer.pad_short(ids)


class TextGeneratorServing(tf.Module):
  """Seed text + number of tokens -> generated text (greedy), in the graph.

  Mirrors `models.text.TextGenerator.generate` with temperature 0:
  each step pads/cuts the ids so far ("pre") to the input length, takes the
  most likely id (never padding 0, nor an id past the vocabulary), and
  appends its word (joined by spaces; characters are joined directly).

  Args:
    model: the trained next-token model.
    tokenizer: the training `data.text.tokenizer.Tokenizer`.
    max_length: the model's input length.
  """

  def __init__(self, model, tokenizer, max_length: int):
    super().__init__(name="text_generator")
    self.model = model
    self.graph_tokenizer = GraphTokenizer(tokenizer, max_length, "pre", "pre")
    self.max_length = int(max_length)
    self.num_tokens = int(tokenizer.vocab_size)
    self.joiner = "" if tokenizer.char_level else " "
    oov = tokenizer.oov_index
    self.oov_index = -1 if oov is None else int(oov)
    ids = sorted(tokenizer.index_word)
    self.words = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(ids, tf.int64),
            tf.constant([tokenizer.index_word[i] for i in ids], tf.string)),
        default_value="")
    self.generate = tf.function(self._generate, input_signature=[
        tf.TensorSpec([], tf.string, name="seed_text"),
        tf.TensorSpec([], tf.int32, name="num_words")])
    ids_spec = tf.TensorSpec([None, self.max_length], tf.int32, name="ids")
    self.model_input = tf.function(
        lambda ids: self.model(ids, training=False),
        input_signature=[ids_spec])
    self.next_token = tf.function(
        lambda ids: {"probabilities": self.model(ids, training=False)},
        input_signature=[ids_spec])

  def _next_token(self, ids: tf.Tensor) -> tf.Tensor:
    window = ids[-self.max_length:]
    padded = tf.pad(window, [[self.max_length - tf.size(window), 0]])
    probabilities = self.model(padded[tf.newaxis], training=False)[0]
    width = tf.shape(probabilities)[0]
    usable = ((tf.range(width) > 0) & (tf.range(width) < self.num_tokens))
    masked = tf.where(usable, probabilities, tf.zeros_like(probabilities))
    return tf.argmax(masked, output_type=tf.int32)

  def _generate(self, seed_text, num_words):
    ids = self.encoder_ids(seed_text)
    tf.debugging.assert_greater(
        tf.reduce_sum(tf.cast(tf.not_equal(ids, self.oov_index), tf.int32)), 0,
        message="the seed text has no token of the training vocabulary")
    words = tf.TensorArray(tf.string, size=0, dynamic_size=True)
    for step in tf.range(num_words):
      tf.autograph.experimental.set_loop_options(
          shape_invariants=[(ids, tf.TensorShape([None]))])
      token = self._next_token(ids)
      ids = tf.concat([ids, [token]], 0)
      words = words.write(step, self.words.lookup(tf.cast(token, tf.int64)))
    generated = tf.strings.reduce_join(words.stack(), separator=self.joiner)
    text = tf.cond(num_words > 0,
                   lambda: tf.strings.join([seed_text, generated],
                                           separator=self.joiner),
                   lambda: seed_text)
    return {"text": text}

  def encoder_ids(self, seed_text: tf.Tensor) -> tf.Tensor:
    """The seed text's ids (unpadded), as `texts_to_sequences` gives them."""
    return self.graph_tokenizer.encoder(seed_text[tf.newaxis])[0]

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.generate.get_concrete_function(),
            "next_token": self.next_token.get_concrete_function()}
