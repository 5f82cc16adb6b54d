"""The trained word tokenizer as TensorFlow ops, for serving signatures.

A text classifier's SavedModel takes raw sentences, so everything the
training pipeline did to a text before the model must run in the graph:

1. the reader's cleaning: `<br />` tags become a space (IMDB, `strip_html`);
2. the course's `remove_stopwords` (BBC): lowercase, split on white space
   (Python's `str.split()`: every Unicode space), drop stop words, join
   with single spaces;
3. the `Tokenizer`: lowercase, filters -> split character, split, drop
   empty pieces, vocabulary lookup limited to `num_words`, unknown words to
   the OOV id (or dropped without an OOV token) (`TFEncoder`);
4. `pad_sequences` with the trained length, padding and truncating sides.

`GraphTokenizer` holds the lookup tables as tracked resources, so
`tf.saved_model.save` stores them with the model; `TextCleaner` is steps
1-2 alone (subword runs' serving uses it too, `subword_graph`).
`prepare_texts` is the same cleaning (steps 1-2) in Python, for binaries
that encode with the Python `Tokenizer`.

Example:
  encode = GraphTokenizer(tokenizer, max_length=120, padding="post",
                          truncating="post", remove_stopwords=True)
  ids = encode(tf.constant(["Shares fell sharply."]))   # int32 [1, 120]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import tensorflow as tf

from data.text import readers
from data.text.padding import check_padding_args, pad_ragged
from data.text.stopwords import STOPWORDS, remove_stopwords as drop_stopwords
from data.text.tokenizer import TFEncoder, Tokenizer

# Python's str.split() splits on every character whose isspace() is True.
_PY_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_WHITESPACE_RUN = "[" + "".join(f"\\x{{{ord(c):x}}}"
                                for c in _PY_WHITESPACE) + "]+"
_BR_TAG = "(?i)<br[" + "".join(f"\\x{{{ord(c):x}}}"
                               for c in _PY_WHITESPACE) + "]*/?>"


def text_options(hparams: Mapping[str, Any]) -> dict[str, bool]:
  """The cleaning a run's texts got before tokenizing (from its hparams).

  Returns:
    {"remove_stopwords": bool, "strip_html": bool}.
  """
  return {"remove_stopwords": _flag(hparams.get("remove_stopwords", False)),
          "strip_html": _flag(hparams.get("strip_html", False))}


def prepare_texts(texts: Sequence[str], remove_stopwords: bool = False,
                  strip_html: bool = False) -> list[str]:
  """Steps 1-2 of the module docstring, in Python (what the readers do)."""
  result = []
  for text in texts:
    if strip_html:
      text = readers.strip_html(text)
    if remove_stopwords:
      text = drop_stopwords(text)
    result.append(text)
  return result


class GraphTokenizer(tf.Module):
  """Raw sentences -> padded int32 ids, as the training pipeline made them.

  Attributes:
    max_length: the padded length.
  """

  def __init__(self, tokenizer: Tokenizer, max_length: int,
               padding: str = "pre", truncating: str = "pre",
               remove_stopwords: bool = False, strip_html: bool = False,
               name: str = "graph_tokenizer"):
    """Builds the lookup tables from a fitted tokenizer.

    Args:
      tokenizer: the training tokenizer (loaded from model_dir).
      max_length: the model's input length.
      padding: "pre" or "post", as trained.
      truncating: "pre" or "post", as trained.
      remove_stopwords: drop the course's stop words first (BBC).
      strip_html: replace `<br />` tags by a space first (IMDB).

    Raises:
      DataError: bad padding arguments.
    """
    super().__init__(name=name)
    check_padding_args(max_length, padding, truncating)
    self.max_length = int(max_length)
    self.padding, self.truncating = padding, truncating
    self.encoder = TFEncoder(tokenizer)
    self.clean = TextCleaner(remove_stopwords, strip_html)

  def __call__(self, texts: tf.Tensor) -> tf.Tensor:
    """Encodes a string tensor [N] as int32 ids [N, max_length]."""
    ids = self.encoder(self.clean(texts))
    return pad_ragged(ids, self.max_length, self.padding, self.truncating)


class TextCleaner(tf.Module):
  """Steps 1-2 in the graph: `<br />` removal and stop-word removal, as the
  run's reader did before tokenizing (word and subword runs alike).

  Example:
    clean = TextCleaner(remove_stopwords=True)
    clean(tf.constant(["The shares fell"]))   # [b"shares fell"]
  """

  def __init__(self, remove_stopwords: bool = False, strip_html: bool = False,
               name: str = "text_cleaner"):
    """Builds the stop-word table when `remove_stopwords`."""
    super().__init__(name=name)
    self.strip_html = bool(strip_html)
    self.stopwords = None
    if remove_stopwords:
      self.stopwords = tf.lookup.StaticHashTable(
          tf.lookup.KeyValueTensorInitializer(
              tf.constant(STOPWORDS, tf.string),
              tf.ones([len(STOPWORDS)], tf.int64)), default_value=0)

  def __call__(self, texts: tf.Tensor) -> tf.Tensor:
    """The cleaned [N] string tensor."""
    texts = tf.convert_to_tensor(texts, tf.string)
    if self.strip_html:
      texts = tf.strings.regex_replace(texts, _BR_TAG, " ")
    if self.stopwords is not None:
      lowered = tf.strings.lower(texts, encoding="utf-8")
      spaced = tf.strings.regex_replace(lowered, _WHITESPACE_RUN, " ")
      words = tf.strings.split(spaced, sep=" ")
      keep = ((tf.strings.length(words) > 0)
              & tf.equal(tf.ragged.map_flat_values(self.stopwords.lookup,
                                                   words), 0))
      texts = tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep),
                                     axis=-1, separator=" ")
    return texts


def _flag(value: Any) -> bool:
  if isinstance(value, str):
    return value.strip().lower() in ("1", "true", "yes")
  return bool(value)
