"""A word (or character) index with the Keras `Tokenizer`'s semantics.

The course encodes text with Keras's `preprocessing.text.Tokenizer`, which
Keras 3 no longer ships. `Tokenizer` reproduces it:

* `fit_on_texts` lowercases, maps every character of `filters` to a space,
  splits on `split` (a space) and drops empty pieces; `char_level=True` keeps
  every character instead (no filters).
* `word_index` ranks words by count, ties by first appearance, from 1; an
  `oov_token` takes index 1.
* With `num_words`, only indices `< num_words` are produced when encoding;
  rarer words become the OOV index, or are dropped when there is none.
* `to_json()` writes the Keras `tokenizer.to_json()` format, so a vocabulary
  saved by the course's notebooks loads too, and `from_json` reads either.

`TFEncoder` does the same encoding with TensorFlow ops (a
`tf.lookup.StaticHashTable` plus `tf.strings`), for use inside `tf.data`.

Example:
  tok = Tokenizer(num_words=1000, oov_token="<OOV>")
  tok.fit_on_texts(["I love my dog", "I love my cat"])
  tok.texts_to_sequences(["my dog loves me"])   # [[4, 5, 1, 1]]
"""

from __future__ import annotations

import collections
import json
import os
from typing import Iterable, Sequence

import tensorflow as tf

from data.errors import DataError
from data.text.padding import pad_ragged

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_FORMAT_NAME = "Tokenizer"


def text_to_word_sequence(text: str, filters: str = DEFAULT_FILTERS,
                          lower: bool = True, split: str = " ") -> list[str]:
  """Splits one text into words the way Keras's function of that name does.

  Args:
    text: the text.
    filters: characters replaced by `split` before splitting.
    lower: lowercase first.
    split: the separator; empty pieces are dropped.

  Returns:
    The words, in order.
  """
  if lower:
    text = text.lower()
  if filters:
    text = text.translate(str.maketrans({c: split for c in filters}))
  return [word for word in text.split(split) if word]


class Tokenizer:
  """Keras-compatible word or character tokenizer (see the module docstring).

  Attributes:
    word_index: word -> index (from 1), most frequent first.
    index_word: index -> word.
    word_counts: word -> count over the fitted texts, in first-seen order.
    word_docs: word -> number of texts containing it.
    document_count: number of texts fitted.
  """

  def __init__(self, num_words: int | None = None,
               filters: str = DEFAULT_FILTERS, lower: bool = True,
               split: str = " ", char_level: bool = False,
               oov_token: str | None = None):
    """Stores the settings; the vocabulary comes from `fit_on_texts`.

    Args:
      num_words: keep only indices below this when encoding (the
        num_words-1 most frequent words, the OOV token included); None keeps
        all.
      filters: characters turned into spaces (word level only).
      lower: lowercase texts first.
      split: the word separator.
      char_level: index characters instead of words.
      oov_token: the token for unknown words; it gets index 1.

    Raises:
      DataError: num_words is not None and < 2, or split is empty.
    """
    if num_words is not None and (isinstance(num_words, bool)
                                  or not isinstance(num_words, int)
                                  or num_words < 2):
      raise DataError(
          f"Tokenizer: num_words (vocab_size) must be an integer >= 2 or "
          f"None, got {num_words!r}; index 0 is padding, so a useful "
          f"vocabulary needs at least 2.")
    if not split:
      raise DataError("Tokenizer: split must be a non-empty string, got ''.")
    self.num_words = num_words
    self.filters = filters
    self.lower = lower
    self.split = split
    self.char_level = char_level
    self.oov_token = oov_token
    self.document_count = 0
    self.word_counts: collections.Counter[str] = collections.Counter()
    self.word_docs: collections.Counter[str] = collections.Counter()
    self.word_index: dict[str, int] = {}
    self.index_word: dict[int, str] = {}
    self._filter_table: dict[int, str] | None = None

  # --- fitting ---------------------------------------------------------------

  def tokenize(self, text: str) -> list[str]:
    """The tokens (words or characters) of one text, before indexing."""
    if self.lower:
      text = text.lower()
    if self.char_level:
      return list(text)
    if self._filter_table is None:
      self._filter_table = str.maketrans(dict.fromkeys(self.filters,
                                                       self.split))
    return [w for w in text.translate(self._filter_table).split(self.split)
            if w]

  def fit_on_texts(self, texts: Iterable[str]) -> "Tokenizer":
    """Counts the tokens of `texts` and rebuilds `word_index`.

    Calling it again adds to the counts, as Keras does.

    Args:
      texts: an iterable of strings (not a single string).

    Returns:
      self, for chaining.

    Raises:
      TypeError: `texts` is a string or holds a non-string.
      DataError: no text, or no token in any text.
    """
    n_texts = 0
    for text in _checked_texts(texts, "fit_on_texts"):
      n_texts += 1
      tokens = self.tokenize(text)
      self.word_counts.update(tokens)  # Keeps first-seen order for new words.
      self.word_docs.update(set(tokens))
    self.document_count += n_texts
    if n_texts == 0 and not self.word_counts:
      raise DataError("Tokenizer.fit_on_texts: the corpus is empty (0 texts); "
                      "check that the data file was read.")
    if not self.word_counts:
      raise DataError(
          f"Tokenizer.fit_on_texts: no tokens in {n_texts} texts after "
          f"lowercasing and removing punctuation; the corpus is empty.")
    self._rebuild_index()
    return self

  def _rebuild_index(self) -> None:
    ranked = sorted(self.word_counts.items(), key=lambda kv: kv[1],
                    reverse=True)  # sorted() is stable: ties keep first-seen.
    vocabulary = [] if self.oov_token is None else [self.oov_token]
    vocabulary += [w for w, _ in ranked if w != self.oov_token]
    self.word_index = {w: i for i, w in enumerate(vocabulary, start=1)}
    self.index_word = {i: w for w, i in self.word_index.items()}

  # --- encoding --------------------------------------------------------------

  @property
  def oov_index(self) -> int | None:
    """The OOV token's index, or None without an OOV token."""
    if self.oov_token is None:
      return None
    return self.word_index.get(self.oov_token)

  @property
  def vocab_size(self) -> int:
    """Number of ids the encoder can output, padding 0 included.

    This is an Embedding's `input_dim`: `len(word_index) + 1`, capped at
    `num_words`.
    """
    total = len(self.word_index) + 1
    return total if self.num_words is None else min(total, self.num_words)

  def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
    """Encodes each text as a list of indices.

    Unknown words (and, with num_words, indices >= num_words) become the OOV
    index, or are dropped without an OOV token.

    Args:
      texts: an iterable of strings (not a single string).

    Returns:
      One list of ints per text.

    Raises:
      TypeError: `texts` is a string or holds a non-string.
      ValueError: the tokenizer has no vocabulary yet.
    """
    self._check_fitted("texts_to_sequences")
    oov = self.oov_index
    limit = self.num_words
    lookup = {w: i for w, i in self.word_index.items()
              if limit is None or i < limit}
    sequences = []
    for text in _checked_texts(texts, "texts_to_sequences"):
      tokens = self.tokenize(text)
      if oov is None:
        sequences.append([i for i in map(lookup.get, tokens) if i is not None])
      else:
        sequences.append([lookup.get(w, oov) for w in tokens])
    return sequences

  def sequences_to_texts(self, sequences: Iterable[Sequence[int]]
                         ) -> list[str]:
    """Decodes index lists back to text.

    Words are joined by a space (characters by nothing in char_level mode);
    unknown indices become the OOV token or are dropped. Index 0 (padding)
    is dropped.

    Args:
      sequences: an iterable of int sequences (lists, arrays or tensors).

    Returns:
      One string per sequence.
    """
    self._check_fitted("sequences_to_texts")
    oov = self.oov_index
    limit = self.num_words
    joiner = "" if self.char_level else " "
    texts = []
    for sequence in sequences:
      tokens = []
      for raw in sequence:
        index = int(raw)
        word = self.index_word.get(index)
        if word is not None and (limit is None or index < limit):
          tokens.append(word)
        elif oov is not None and index != 0:
          tokens.append(self.oov_token)
      texts.append(joiner.join(tokens))
    return texts

  def tf_encoder(self) -> "TFEncoder":
    """A `TFEncoder` that encodes exactly as `texts_to_sequences` does."""
    self._check_fitted("tf_encoder")
    return TFEncoder(self)

  def _check_fitted(self, what: str) -> None:
    if not self.word_index:
      raise ValueError(
          f"Tokenizer.{what}: the tokenizer has no vocabulary; call "
          f"fit_on_texts(...) or load a saved one with Tokenizer.load(path).")

  # --- serialization ---------------------------------------------------------

  def to_json(self) -> str:
    """The tokenizer as JSON, in the Keras `Tokenizer.to_json()` format."""
    config = {
        "num_words": self.num_words,
        "filters": self.filters,
        "lower": self.lower,
        "split": self.split,
        "char_level": self.char_level,
        "oov_token": self.oov_token,
        "document_count": self.document_count,
        "word_counts": json.dumps(self.word_counts),
        "word_docs": json.dumps(self.word_docs),
        "index_docs": json.dumps(
            {str(self.word_index[w]): n for w, n in self.word_docs.items()
             if w in self.word_index}),
        "index_word": json.dumps({str(i): w for i, w in
                                  self.index_word.items()}),
        "word_index": json.dumps(self.word_index),
    }
    return json.dumps({"class_name": _FORMAT_NAME, "config": config})

  @classmethod
  def from_json(cls, text: str, source: str = "tokenizer JSON"
                ) -> "Tokenizer":
    """Rebuilds a tokenizer saved by `to_json` (ours or Keras's).

    Args:
      text: the JSON text.
      source: how to name the input in error messages (e.g. a file path).

    Returns:
      A Tokenizer that encodes exactly as the saved one did.

    Raises:
      DataError: the text is not a tokenizer's JSON.
    """
    try:
      config = json.loads(text)["config"]
      tokenizer = cls(
          num_words=config.get("num_words"),
          filters=config.get("filters", DEFAULT_FILTERS),
          lower=config.get("lower", True), split=config.get("split", " "),
          char_level=config.get("char_level", False),
          oov_token=config.get("oov_token"))
      tokenizer.document_count = int(config.get("document_count", 0))
      tokenizer.word_counts = collections.Counter(
          _json_field(config, "word_counts", {}))
      tokenizer.word_docs = collections.Counter(
          _json_field(config, "word_docs", {}))
      word_index = _json_field(config, "word_index", None)
      tokenizer.word_index = {str(w): int(i) for w, i in word_index.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
      raise DataError(
          f"{source}: not a saved Tokenizer ({type(e).__name__}: {e}); "
          f"expected the output of Tokenizer.to_json().") from None
    tokenizer.index_word = {i: w for w, i in tokenizer.word_index.items()}
    _check_word_index(tokenizer.word_index, source)
    return tokenizer

  def save(self, path: str | os.PathLike) -> None:
    """Writes `to_json()` to `path` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as f:
      f.write(self.to_json())

  @classmethod
  def load(cls, path: str | os.PathLike) -> "Tokenizer":
    """Reads a tokenizer written by `save` (or Keras's `to_json`).

    Raises:
      FileNotFoundError: no file at `path`.
      DataError: the file is not a tokenizer's JSON.
    """
    with open(path, encoding="utf-8") as f:
      return cls.from_json(f.read(), source=os.fspath(path))


class TFEncoder(tf.Module):
  """Encodes string tensors as a `Tokenizer` does, with TensorFlow ops.

  Lowercasing (UTF-8 aware), punctuation filtering and splitting use
  `tf.strings`, and word lookup uses a `tf.lookup.StaticHashTable` built from
  the tokenizer's `word_index` (only indices below `num_words`). It runs
  inside `tf.data.Dataset.map` and `tf.function`.

  Example:
    encoder = tokenizer.tf_encoder()
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(256)
    ds = ds.map(lambda t: encoder.encode_padded(t, maxlen=120))
  """

  def __init__(self, tokenizer: Tokenizer, name: str = "tf_encoder"):
    """Builds the lookup table from a fitted tokenizer."""
    super().__init__(name=name)
    limit = tokenizer.num_words
    kept = [(w, i) for w, i in tokenizer.word_index.items()
            if limit is None or i < limit]
    self.char_level = tokenizer.char_level
    self.lower = tokenizer.lower
    self.split = tokenizer.split
    self.filter_pattern = _character_class(tokenizer.filters)
    self.oov_index = tokenizer.oov_index
    self.table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant([w for w, _ in kept], tf.string),
            tf.constant([i for _, i in kept], tf.int64)),
        default_value=-1)

  def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
    """Splits a 1-D string tensor into a ragged [N, None] token tensor."""
    texts = tf.convert_to_tensor(texts, tf.string)
    if self.lower:
      texts = tf.strings.lower(texts, encoding="utf-8")
    if self.char_level:
      return tf.strings.unicode_split(texts, "UTF-8")
    if self.filter_pattern:
      texts = tf.strings.regex_replace(texts, self.filter_pattern,
                                       self.split.replace("\\", "\\\\"))
    tokens = tf.strings.split(texts, sep=self.split)
    return tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)

  def __call__(self, texts: tf.Tensor) -> tf.RaggedTensor:
    """Encodes a 1-D string tensor as ragged int32 ids [N, None].

    Args:
      texts: a string tensor of shape [N].

    Returns:
      Ragged int32 ids, equal to `Tokenizer.texts_to_sequences(texts)`.
    """
    ids = tf.ragged.map_flat_values(self.table.lookup, self.tokenize(texts))
    if self.oov_index is None:
      ids = tf.ragged.boolean_mask(ids, ids >= 0)
    else:
      ids = tf.ragged.map_flat_values(
          lambda v: tf.where(v < 0, tf.constant(self.oov_index, v.dtype), v),
          ids)
    return tf.cast(ids, tf.int32)

  def encode_padded(self, texts: tf.Tensor, maxlen: int | None = None,
                    padding: str = "pre", truncating: str = "pre",
                    value: int = 0) -> tf.Tensor:
    """Encodes and pads like `pad_sequences(texts_to_sequences(texts))`.

    Args:
      texts: a string tensor of shape [N].
      maxlen: output length; None pads to the longest text of this batch.
      padding: "pre" or "post": where the padding goes.
      truncating: "pre" or "post": which end of a long text is cut.
      value: the padding id.

    Returns:
      An int32 tensor [N, maxlen].
    """
    return pad_ragged(self(texts), maxlen, padding, truncating, value)


def _character_class(characters: str) -> str:
  """An RE2 character class matching any of `characters` ('' for none)."""
  if not characters:
    return ""
  return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in characters) + "]"


def _checked_texts(texts: Iterable[str], what: str) -> Iterable[str]:
  if isinstance(texts, (str, bytes)):
    raise TypeError(
        f"Tokenizer.{what}: expected a list of texts, got a single "
        f"{type(texts).__name__} ({texts[:40]!r}); wrap it in a list.")
  for i, text in enumerate(texts):
    if not isinstance(text, str):
      raise TypeError(f"Tokenizer.{what}: text {i} is a "
                      f"{type(text).__name__}, expected str: {text!r:.60}")
    yield text


def _json_field(config: dict, key: str, default):
  if key not in config:
    if default is None:
      raise KeyError(key)
    return default
  value = config[key]
  return json.loads(value) if isinstance(value, str) else value


def _check_word_index(word_index: dict[str, int], source: str) -> None:
  if not word_index:
    raise DataError(f"{source}: the saved tokenizer has an empty word_index.")
  indices = sorted(word_index.values())
  if indices[0] < 1 or len(set(indices)) != len(indices):
    raise DataError(
        f"{source}: word_index must map words to distinct indices >= 1; "
        f"got indices from {indices[0]} to {indices[-1]} with "
        f"{len(indices) - len(set(indices))} duplicates.")
