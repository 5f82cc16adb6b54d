"""What a text bundle says about its data."""

from __future__ import annotations

import dataclasses

import numpy as np

from data.bundle import DataInfo
from data.text.labels import LabelEncoder
from data.text.tokenizer import Tokenizer


@dataclasses.dataclass
class TextInfo(DataInfo):
  """The `info` of every text bundle.

  Attributes:
    tokenizer: the tokenizer fitted on the training texts.
    total_words: token ids the tokenizer gives, padding id 0 included.
    max_length: the model's input length.
    padding_type: "pre" or "post".
    trunc_type: "pre" or "post".
    max_sequence_len: a next-word model's n-gram length (label included).
    num_classes: outputs of a classifier (0 for a generator).
    num_train: training examples.
    num_validation: validation examples.
    skipped: reason -> rows the reader left out.
    label_encoder: the string-label encoder of a classifier, if any.
    embedding_matrix: float32 (rows, dim) pre-trained vectors, if any.
    glove_found: words the GloVe file covers.
    glove_words: words looked up in the GloVe file.
  """

  tokenizer: Tokenizer | None = None
  total_words: int = 0
  max_length: int = 0
  padding_type: str = "pre"
  trunc_type: str = "pre"
  max_sequence_len: int | None = None
  num_classes: int = 0
  num_train: int = 0
  num_validation: int = 0
  skipped: dict[str, int] = dataclasses.field(default_factory=dict)
  label_encoder: LabelEncoder | None = None
  embedding_matrix: np.ndarray | None = None
  glove_found: int = 0
  glove_words: int = 0

  def encoder_config(self) -> dict:
    """The text_config.json inference reads (`load_inference_encoder`)."""
    config = {"max_length": self.max_length,
              "padding_type": self.padding_type,
              "trunc_type": self.trunc_type,
              "char_level": bool(self.tokenizer and self.tokenizer.char_level)}
    if self.num_classes:
      config.update(class_names=list(self.class_names),
                    vocab_size=self.total_words)
    else:
      config["total_words"] = self.total_words
    if self.max_sequence_len is not None:
      config["max_sequence_len"] = self.max_sequence_len
    return config
