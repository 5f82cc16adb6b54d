"""A run's subword tokenization as TensorFlow ops, for serving signatures.

The subword twin of `graph_tokenizer`: the SavedModel of a subword text
classifier takes raw sentences, so what training did to a text before the
model runs in the graph:

1. the reader's cleaning (`TextCleaner`: `<br />` removal for IMDB, stop
   words for BBC);
2. the run's `SubwordTokenizer` (tensorflow-text's `FastWordpieceTokenizer`
   and `tf.strings` ops);
3. the padding of `subword_pipeline.pad_ids`: to the run's max_length with
   its padding and truncating sides, or, without one, to the batch's
   longest text (at least `MIN_LENGTH` steps).

The tokenizer's ops come from tensorflow-text, so a program that loads the
SavedModel must `import tensorflow_text` first (that registers them).

Example:
  encode = SubwordGraphEncoder(SubwordTokenizer.load(vocab_path),
                               max_length=None, strip_html=True)
  ids = encode(tf.constant(["A fine film.<br />", ""]))   # int32 [2, >= 5]
"""

from __future__ import annotations

import tensorflow as tf

from data.text.graph_tokenizer import TextCleaner
from data.text.padding import check_padding_args
from data.text.subword import SubwordTokenizer
from data.text.subword_pipeline import pad_ids, pad_to_min_length


class SubwordGraphEncoder(tf.Module):
  """Raw sentences -> padded int32 subword ids, as the run's training
  batches were made.

  Attributes:
    max_length: the padded length; None: each batch's longest text.
  """

  def __init__(self, tokenizer: SubwordTokenizer, max_length: int | None,
               padding: str = "post", truncating: str = "post",
               remove_stopwords: bool = False, strip_html: bool = False,
               name: str = "subword_graph_encoder"):
    """Wraps the run's tokenizer and cleaning.

    Args:
      tokenizer: the run's tokenizer (loaded from model_dir).
      max_length: the model's input length, None for any length.
      padding: "pre" or "post", as trained (used with max_length).
      truncating: "pre" or "post", as trained (used with max_length).
      remove_stopwords: drop the course's stop words first (BBC).
      strip_html: replace `<br />` tags by a space first (IMDB).

    Raises:
      DataError: bad padding arguments.
    """
    super().__init__(name=name)
    if max_length is not None:
      check_padding_args(max_length, padding, truncating)
      max_length = int(max_length)
    self.max_length = max_length
    self.padding, self.truncating = padding, truncating
    self.tokenizer = tokenizer
    self.clean = TextCleaner(remove_stopwords, strip_html)

  def __call__(self, texts: tf.Tensor) -> tf.Tensor:
    """Encodes a [N] string tensor as int32 ids [N, length]."""
    return pad_ids(self.tokenizer(self.clean(texts)), self.max_length,
                   self.padding, self.truncating)

  def pad_short(self, ids: tf.Tensor) -> tf.Tensor:
    """Ids given directly ([N, length] int32) in the shape training gave
    the model: without a max_length, padded "post" to at least MIN_LENGTH
    steps; with one, unchanged (the signature fixes the length)."""
    return ids if self.max_length is not None else pad_to_min_length(ids)
