"""A subword tokenizer learned from training text, run with TF ops.

The course's `imdb_reviews/subwords8k` encoder (`tokenizer.vocab_size`
8,185, `encode`, `decode`) rebuilt from the TF ecosystem's own pieces:
tensorflow-text's WordPiece vocabulary learner and its
`FastWordpieceTokenizer`. Encoding and decoding are TensorFlow ops, so they
run inside `tf.data` (no Python per example) and in a SavedModel that takes
raw strings; `encode` / `decode` are the course's one-text Python API.

Text rules (the same in learning, encoding and decoding):

1. the text is lower-cased (UTF-8 aware);
2. every run of ASCII white space (space, tab, newline, CR, VT, FF) becomes
   one space, and leading/trailing space is dropped;
3. words are runs of letters, marks and digits; every other character
   (punctuation, symbols, emoji, other Unicode spaces and controls) is a
   word of its own;
4. a word that follows a space carries the marker U+2581 ("▁") in front, as
   SentencePiece does, so the spaces survive tokenization;
5. each word is split into the longest vocabulary pieces, left to right;
   pieces after the first carry "##" (WordPiece's suffix indicator).

Hence `decode(encode(text)) == normalize(text)` (steps 1-2) exactly, unless
a word holds a character the training text never had (or is longer than
100 bytes): such a word becomes one unknown piece, `[UNK]`, decoded as
"[UNK]" (" [UNK]" after a space). A U+2581 in the text decodes as a space.

Ids: 0 is padding (never produced), 1 `[UNK]`, 2 `▁[UNK]`, then the single
characters, then the learned pieces, most frequent first. `vocab_size` is
the number of ids (an Embedding's input_dim).

Vocabulary size. tensorflow-text's learner binary-searches a frequency
threshold until its vocabulary lies within 5% below a maximum. `learn` asks
it for `ceil(vocab_size / 0.95)` pieces, searching thresholds from the
count of the vocab_size-th most frequent word (every word that frequent
becomes a piece, so the vocabulary is big enough there) up to 16 times
that; when the search ends below vocab_size, a second binary search finds
the highest threshold that gives at least vocab_size. Then the least
frequent learned pieces (never a character) are dropped to reach
`vocab_size` exactly. A corpus too small to give that many pieces even at
threshold 1 yields fewer; `vocab_size` reports the real number. On a large
corpus (more than 4 distinct words per id, e.g. IMDB's 91k for 8k ids) the
words seen once are left out of learning: every learner pass costs time
per distinct word, and they hardly ever add a piece (a character seen only
in them becomes `[UNK]`). Learning is deterministic: the same corpus gives
the same vocabulary.

The vocabulary file (`save` / `load`) is UTF-8 text, one piece per line,
line i holding id i.
"""

from __future__ import annotations

import collections
import math
import os
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.tools.wordpiece_vocab import (
    wordpiece_tokenizer_learner_lib as learner)

from data.errors import DataError

PAD_TOKEN = "<pad>"
UNKNOWN_TOKEN = "[UNK]"
MARKER = "\u2581"
SUFFIX = "##"
RESERVED_TOKENS = (PAD_TOKEN, UNKNOWN_TOKEN, MARKER + UNKNOWN_TOKEN)
MAX_BYTES_PER_WORD = 100
_MARKER_UTF8 = MARKER.encode("utf-8")
_SLACK = 0.05  # The learner's accepted shortfall below its maximum size.
_SEARCH_RANGE = 16  # Highest threshold searched, in units of the lowest.
_RARE_WORDS_KEPT_UP_TO = 4  # Distinct words per id; beyond, drop count-1 words.
_SINGLE = f"[^\\p{{L}}\\p{{M}}\\p{{N}}{MARKER}]"  # Rule 3's words of one.
_PLAIN = f"{MARKER}?[\\p{{L}}\\p{{M}}\\p{{N}}]*"  # A chunk of one word.


def normalize(texts: tf.Tensor) -> tf.Tensor:
  """Rules 1-2 on a string tensor: lower case, one space per white run."""
  words = tf.strings.split(tf.strings.lower(
      tf.convert_to_tensor(texts, tf.string), encoding="utf-8"))
  return tf.strings.reduce_join(words, axis=-1, separator=" ")


def split_words(texts: tf.Tensor) -> tf.RaggedTensor:
  """Rules 1-4: a [N] string tensor as ragged [N, words] marked words."""
  return per_chunk(texts, chunk_words).merge_dims(-2, -1)


def per_chunk(texts: tf.Tensor, chunk_fn) -> tf.RaggedTensor:
  """Ragged [N, chunks, ...]: `chunk_fn` of each white-space chunk of the
  lower-cased texts (rules 1-2), computed once per distinct chunk.

  Args:
    texts: a [N] string tensor.
    chunk_fn: (chunks [C] strings, marked: bool) -> ragged [C, ...]; marked
      is False for the chunks that open their text (rule 4).
  """
  chunks = tf.strings.split(tf.strings.lower(
      tf.convert_to_tensor(texts, tf.string), encoding="utf-8"))
  flat = chunks.flat_values
  # A batch repeats most of its words: each distinct one is split and
  # tokenized once, and the result is gathered back per occurrence.
  distinct, index = tf.unique(flat, out_idx=tf.int64)
  opening = tf.boolean_mask(chunks.row_starts(), chunks.row_lengths() > 0)
  table = tf.concat([chunk_fn(distinct, True),
                     chunk_fn(tf.gather(flat, opening), False)], axis=0)
  index = tf.tensor_scatter_nd_update(
      index, opening[:, tf.newaxis],
      tf.size(distinct, out_type=tf.int64)
      + tf.range(tf.size(opening, out_type=tf.int64)))
  return chunks.with_flat_values(tf.gather(table, index))


def chunk_words(chunks: tf.Tensor, marked: bool) -> tf.RaggedTensor:
  """Rules 3-4 on [C] lower-cased chunks: ragged [C, words]."""
  if marked:
    chunks = MARKER + chunks
  # The regex is the costly step, and most chunks are one plain word.
  mixed = tf.where(~tf.strings.regex_full_match(chunks, _PLAIN))
  spaced = tf.strings.regex_replace(tf.gather_nd(chunks, mixed), _SINGLE,
                                    " \\0 ")
  # A marker before a word of one joins it: "▁ , " -> " ▁, ".
  spaced = tf.strings.regex_replace(spaced, MARKER + " ", " " + MARKER)
  return tf.strings.split(tf.tensor_scatter_nd_update(chunks, mixed, spaced))


def count_words(texts: Iterable[str] | tf.data.Dataset,
                batch_size: int = 1024) -> collections.Counter:
  """Marked word -> count over a corpus, in first-seen order.

  Args:
    texts: strings, or a dataset of scalar strings.
    batch_size: texts split per TF call.

  Raises:
    TypeError: `texts` is a single string.
  """
  if not isinstance(texts, tf.data.Dataset):
    texts = _text_list(texts)
    texts = tf.data.Dataset.from_tensor_slices(
        tf.constant(texts, tf.string, shape=[len(texts)]))
  words = texts.batch(batch_size).map(
      lambda t: split_words(t).flat_values,
      num_parallel_calls=tf.data.AUTOTUNE)
  counts: collections.Counter = collections.Counter()
  for batch in words.as_numpy_iterator():
    counts.update(batch.tolist())
  return collections.Counter({w.decode("utf-8"): n for w, n in counts.items()})


def learn_vocabulary(word_counts: collections.Counter,
                     vocab_size: int) -> list[str]:
  """The WordPiece vocabulary of `vocab_size` pieces (fewer if the corpus
  cannot give them), reserved tokens first; see the module docstring.

  Raises:
    DataError: no words, or a vocab_size below what the reserved tokens and
      the corpus's characters need.
  """
  if not word_counts:
    raise DataError("the corpus has no words to learn subwords from; check "
                    "that the data file was read.")
  if len(word_counts) > _RARE_WORDS_KEPT_UP_TO * vocab_size:
    word_counts = collections.Counter(
        {w: n for w, n in word_counts.items() if n > 1})
  counts = sorted(word_counts.values(), reverse=True)
  floor = counts[min(vocab_size, len(counts)) - 1]
  pieces = _learn(word_counts, math.ceil(vocab_size / (1 - _SLACK)),
                  floor, floor * _SEARCH_RANGE)
  if len(pieces) < vocab_size:
    pieces = _smallest_at_least(word_counts, vocab_size)
  return _trimmed(pieces, vocab_size)


def _learn(word_counts: collections.Counter, max_size: int, lowest: int,
           highest: int) -> list[str]:
  """tensorflow-text's learner: its binary search of a frequency threshold
  in [lowest, highest] for a vocabulary within 5% below max_size (one
  threshold when lowest == highest)."""
  return learner.learn(word_counts, max_size, list(RESERVED_TOKENS),
                       upper_thresh=highest, lower_thresh=lowest,
                       slack_ratio=_SLACK,
                       max_token_length=MAX_BYTES_PER_WORD // 2)


def _smallest_at_least(word_counts: collections.Counter,
                       vocab_size: int) -> list[str]:
  """The vocabulary of the highest frequency threshold that still gives
  vocab_size pieces (binary search; threshold 1's when none does)."""
  low, high = 1, max(word_counts.values())
  best = _learn(word_counts, vocab_size, low, low)
  while low < high and len(best) >= vocab_size:
    middle = (low + high + 1) // 2
    pieces = _learn(word_counts, vocab_size, middle, middle)
    if len(pieces) >= vocab_size:
      low, best = middle, pieces
    else:
      high = middle - 1
  return best


def _trimmed(pieces: list[str], vocab_size: int) -> list[str]:
  """Drops the rarest learned pieces, never a reserved token or character."""
  needed = [p for p in pieces if _is_essential(p)]
  if vocab_size < len(needed):
    raise DataError(
        f"vocab_size {vocab_size} is too small: the padding, unknown tokens "
        f"and the corpus's {(len(needed) - len(RESERVED_TOKENS)) // 2} "
        f"distinct characters (each also as a suffix) need {len(needed)} "
        f"ids; raise vocab_size.")
  learned = [p for p in pieces if not _is_essential(p)]
  kept = set(learned[:vocab_size - len(needed)])
  return [p for p in pieces if _is_essential(p) or p in kept]


def _is_essential(piece: str) -> bool:
  body = piece[len(SUFFIX):] if piece.startswith(SUFFIX) else piece
  return piece in RESERVED_TOKENS or len(body) == 1


class SubwordTokenizer(tf.Module):
  """Encodes text as subword ids and back, with TensorFlow ops.

  Example:
    tokenizer = SubwordTokenizer.learn(train_texts, vocab_size=2**13)
    tokenizer.vocab_size                         # e.g. 8185
    ids = tokenizer.encode("TensorFlow, from basics to mastery")
    tokenizer.decode(ids)   # 'tensorflow, from basics to mastery'
    ds = ds.batch(64).map(lambda t, y: (tokenizer(t).to_tensor(), y))
    tokenizer.save(os.path.join(model_dir, "subword_vocab.txt"))

  It also answers the word `Tokenizer`'s questions (`index_word`,
  `word_index`, `oov_index`, `texts_to_sequences`, `sequences_to_texts`), so
  code written for word runs (embedding export, prediction) takes it as is.
  """

  char_level = False
  num_words = None
  oov_token = UNKNOWN_TOKEN

  def __init__(self, vocabulary: Sequence[str], name: str = "subword"):
    """Builds the tokenizer from a vocabulary (line i = id i).

    Raises:
      DataError: the vocabulary lacks the reserved tokens at ids 0-2, or has
        duplicate or empty pieces.
    """
    super().__init__(name=name)
    vocabulary = list(vocabulary)
    _check_vocabulary(vocabulary)
    self._vocabulary = tuple(vocabulary)
    self._wordpiece = tf_text.FastWordpieceTokenizer(
        vocabulary, suffix_indicator=SUFFIX,
        max_bytes_per_word=MAX_BYTES_PER_WORD, token_out_type=tf.int64,
        unknown_token=UNKNOWN_TOKEN, no_pretokenization=True,
        support_detokenization=False)
    self._pieces = tf.constant(vocabulary, tf.string)
    self.index_word = dict(enumerate(vocabulary))
    del self.index_word[0]
    self.word_index = {p: i for i, p in self.index_word.items()}

  # --- learning and files ----------------------------------------------------

  @classmethod
  def learn(cls, texts: Iterable[str] | tf.data.Dataset, vocab_size: int
            ) -> "SubwordTokenizer":
    """Learns a vocabulary of `vocab_size` ids (padding included).

    Args:
      texts: the training texts (strings, or a dataset of scalar strings).
      vocab_size: the target number of ids, e.g. 2**13 as the course.

    Raises:
      DataError: an empty corpus, or a vocab_size below what the corpus's
        characters need (the message names the minimum).
    """
    if isinstance(vocab_size, bool) or not isinstance(
        vocab_size, (int, np.integer)) or vocab_size < len(RESERVED_TOKENS):
      raise DataError(f"subword vocab_size must be an integer >= "
                      f"{len(RESERVED_TOKENS)}, got {vocab_size!r}.")
    return cls(learn_vocabulary(count_words(texts), int(vocab_size)))

  def to_text(self) -> str:
    """The vocabulary file's content: one piece per line."""
    return "\n".join(self.vocabulary) + "\n"

  def save(self, path: str | os.PathLike) -> None:
    """Writes the vocabulary file (UTF-8)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
      f.write(self.to_text())

  @classmethod
  def from_text(cls, text: str, source: str = "subword vocabulary"
                ) -> "SubwordTokenizer":
    """Rebuilds a tokenizer from `to_text()` output.

    Raises:
      DataError: not a vocabulary `to_text` wrote (names `source`).
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
      lines.pop()
    try:
      return cls(lines)
    except DataError as e:
      raise DataError(f"{source}: {e}") from None

  @classmethod
  def load(cls, path: str | os.PathLike) -> "SubwordTokenizer":
    """Reads a vocabulary file written by `save`.

    Raises:
      FileNotFoundError: no file at `path`.
      DataError: the file is not such a vocabulary.
    """
    with open(path, encoding="utf-8", newline="") as f:
      return cls.from_text(f.read(), source=os.fspath(path))

  # --- sizes -----------------------------------------------------------------

  @property
  def vocabulary(self) -> list[str]:
    """The pieces, id i at position i."""
    return list(self._vocabulary)

  @property
  def vocab_size(self) -> int:
    """Number of ids, padding included: the Embedding's input_dim."""
    return len(self.vocabulary)

  @property
  def oov_index(self) -> int:
    """The id of `[UNK]` (a word after a space gets `▁[UNK]`, id 2)."""
    return 1

  # --- TensorFlow ops --------------------------------------------------------

  @tf.autograph.experimental.do_not_convert
  def __call__(self, texts: tf.Tensor) -> tf.RaggedTensor:
    """Encodes a [N] string tensor as ragged int32 ids [N, pieces]."""
    ids = per_chunk(texts, self._chunk_ids).merge_dims(-2, -1)
    return ids.with_flat_values(tf.cast(ids.flat_values, tf.int32))

  def _chunk_ids(self, chunks: tf.Tensor, marked: bool) -> tf.RaggedTensor:
    """Rule 5 on the words of [C] chunks: ragged int64 [C, pieces]."""
    words = chunk_words(chunks, marked)
    pieces = self._wordpiece.tokenize(words.flat_values)  # [words, pieces]
    unknown = tf.where(tf.equal(pieces.flat_values, 1))
    word = tf.gather(pieces.value_rowids(), unknown[:, 0])
    after_space = tf.equal(tf.strings.substr(
        tf.gather(words.flat_values, word), 0, len(_MARKER_UTF8)),
                           _MARKER_UTF8)
    ids = tf.tensor_scatter_nd_update(
        pieces.flat_values, unknown,
        tf.where(after_space, tf.constant(2, tf.int64), 1))
    return words.with_flat_values(pieces.with_flat_values(ids)).merge_dims(
        -2, -1)

  @tf.autograph.experimental.do_not_convert
  def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
    """Decodes [N, pieces] ids (dense with 0 padding, or ragged) to [N]
    strings; ids outside the vocabulary decode as `[UNK]`."""
    if not isinstance(ids, tf.RaggedTensor):
      ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
    ids = tf.cast(ids, tf.int32)
    ids = tf.ragged.boolean_mask(ids, ids != 0)
    valid = (ids >= 0) & (ids < self.vocab_size)
    ids = tf.where(valid, ids, tf.ones_like(ids))
    pieces = tf.ragged.map_flat_values(tf.gather, self._pieces, ids)
    pieces = tf.ragged.map_flat_values(tf.strings.regex_replace, pieces,
                                       "^" + SUFFIX, "")
    text = tf.strings.reduce_join(pieces, axis=-1)
    return tf.strings.regex_replace(text, MARKER, " ")

  # --- the course's Python API -----------------------------------------------

  def encode(self, text: str) -> list[int]:
    """The ids of one text (the course's `tokenizer.encode`)."""
    if not isinstance(text, str):
      raise TypeError(f"encode takes one str, got {type(text).__name__}; "
                      f"use texts_to_sequences for a list.")
    return self(tf.constant([text])).to_list()[0]

  def decode(self, ids: Sequence[int]) -> str:
    """The text of one id sequence (the course's `tokenizer.decode`)."""
    ids = [int(i) for i in ids]
    ragged = tf.ragged.constant([ids], dtype=tf.int32, ragged_rank=1)
    return self.detokenize(ragged).numpy()[0].decode("utf-8")

  def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
    """One id list per text, as the word `Tokenizer`'s method."""
    texts = _text_list(texts)
    if not texts:
      return []
    return self(tf.constant(texts, tf.string)).to_list()

  def sequences_to_texts(self, sequences: Iterable[Sequence[int]]
                         ) -> list[str]:
    """One text per id sequence (padding 0 dropped)."""
    rows = [[int(i) for i in s] for s in sequences]
    if not rows:
      return []
    ragged = tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1)
    return [t.decode("utf-8") for t in self.detokenize(ragged).numpy()]


def _text_list(texts: Iterable[str]) -> list[str]:
  if isinstance(texts, (str, bytes)):
    raise TypeError(f"expected a list of texts, got a single "
                    f"{type(texts).__name__} ({texts[:40]!r}); wrap it in a "
                    f"list.")
  texts = list(texts)
  for i, text in enumerate(texts):
    if not isinstance(text, str):
      raise TypeError(f"text {i} is a {type(text).__name__}, expected str: "
                      f"{text!r:.60}")
  return texts


def _check_vocabulary(vocabulary: list[str]) -> None:
  if tuple(vocabulary[:len(RESERVED_TOKENS)]) != RESERVED_TOKENS:
    raise DataError(f"a subword vocabulary starts with "
                    f"{list(RESERVED_TOKENS)}, got {vocabulary[:3]}.")
  if "" in vocabulary:
    raise DataError(f"empty piece at id {vocabulary.index('')}.")
  seen = set()
  for i, piece in enumerate(vocabulary):
    if piece in seen:
      raise DataError(f"piece {piece!r} appears twice (id {i}).")
    seen.add(piece)
