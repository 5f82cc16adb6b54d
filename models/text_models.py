"""The course's NLP networks, and the next-token generator that drives them.

Builders take the hparams of a registered recipe (see models/text.py) and
return an unbuilt `Sequential`; the ids go in as int32 `(batch, length)`.

* `build_bbc_embedding`: Embedding -> GlobalAveragePooling1D -> Dense 24 relu
  -> Dense num_classes softmax (course 3, week 2, BBC exercise).
* `build_imdb_embedding`: Embedding -> Flatten or GlobalAveragePooling1D ->
  Dense 6 relu -> Dense 1 sigmoid (course 3, week 2, IMDB).
* `build_imdb_bilstm`, `build_imdb_stacked_bilstm`, `build_imdb_gru`,
  `build_imdb_conv1d`: the week 3 sequence models.
* `build_sentiment_glove`: frozen GloVe Embedding -> Dropout -> Conv1D ->
  MaxPooling1D -> LSTM -> Dense 1 sigmoid (week 3 exercise).
* `build_sonnets_generator`, `build_char_generator`: next-word and
  next-character models (week 4).

`TextGenerator` extends a seed text with a trained next-token model, greedily
or by sampling; `trainers.generate` and the generators' epoch-end hook use it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data.errors import DataError
from data.text.padding import pad_sequences
from data.text.tokenizer import Tokenizer
from engine.errors import EngineUserError
from engine.modules.basic import Dropout, Flatten
from engine.modules.conv import Conv1D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.pool import (GlobalAveragePooling1D, GlobalMaxPooling1D,
                                 MaxPool1D)
from engine.modules.recurrent import GRU, LSTM
from engine.modules.sequential import Sequential
from engine.modules.wrappers import Bidirectional

# Sizes the course's data gives, used when a size is "from the data"
# (hparam None) and no data was read, e.g. by trainers.summary.
SONNETS_TOTAL_WORDS = 3211
SONNETS_INPUT_LENGTH = 10  # max_sequence_len 11, minus the label.
SONNETS_TOTAL_CHARS = 61  # 60 distinct characters (case kept) + padding.
SENTIMENT140_WORDS = 138858  # len(word_index) of the course's 160,000 tweets.


# --- hyper-parameter access ---------------------------------------------------


def int_hparam(hparams: Mapping[str, Any], key: str,
               default: int | None = None, minimum: int = 1) -> int | None:
  """`hparams[key]` as an int (numeric strings from --hparam accepted).

  Args:
    hparams: the recipe's hyper-parameters.
    key: the name, e.g. "vocab_size".
    default: returned when the value is None (None: None is returned).
    minimum: the smallest valid value.

  Returns:
    The int, or `default` for a None value.

  Raises:
    EngineUserError: a value that is not an integer >= minimum.
  """
  value = hparams.get(key)
  if value is None:
    return default
  try:
    number = int(value) if isinstance(value, str) else value
  except ValueError:
    number = None
  if (isinstance(number, bool) or not isinstance(number, (int, np.integer))
      or number < minimum):
    raise EngineUserError(
        f"hyper-parameter {key} must be an integer >= {minimum}, got "
        f"{value!r}; set it with --{key}=N or --hparam {key}=N.")
  return int(number)


def float_hparam(hparams: Mapping[str, Any], key: str) -> float:
  """`hparams[key]` as a float.

  Raises:
    EngineUserError: a value that is not a number >= 0.
  """
  value = hparams[key]
  try:
    number = float(value)
  except (TypeError, ValueError):
    number = -1.0
  if number < 0:
    raise EngineUserError(f"hyper-parameter {key} must be a number >= 0, got "
                          f"{value!r}.")
  return number


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

  The table starts at zero; the recipe's `LoadEmbeddingMatrix` hook copies
  the GloVe matrix in before the first training step (a restored run reads
  it from the checkpoint).

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
