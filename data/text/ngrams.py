"""Next-token training data: n-gram prefixes and sliding windows.

The course's next-word data: every line `[t0, t1, ..., tn]` gives the
prefixes `[t0, t1]`, `[t0, t1, t2]`, ..., `[t0, ..., tn]`; they are
pre-padded to the longest, the last column is the label and the rest the
features.

Example:
  data = next_word_data(tokenizer.texts_to_sequences(lines))
  data.features.shape    # (num_prefixes, max_sequence_len - 1)
  data.labels.shape      # (num_prefixes,)  sparse ids
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from data.errors import DataError
from data.text.padding import pad_sequences


@dataclasses.dataclass
class NextTokenData:
  """Features and labels for next-token prediction.

  Attributes:
    features: int32 (N, max_sequence_len - 1), pre-padded with 0.
    labels: int32 (N,) token ids, or float32 (N, num_classes) one-hot.
    max_sequence_len: the padded prefix length, label included.
  """

  features: np.ndarray
  labels: np.ndarray
  max_sequence_len: int


def ngram_prefixes(sequences: Sequence[Sequence[int]]) -> list[list[int]]:
  """`token_list[:i + 1]` for i in 1..len-1, for every token list in order.

  Lines with fewer than two tokens give nothing.
  """
  prefixes = []
  for tokens in sequences:
    tokens = list(tokens)
    prefixes.extend(tokens[:i + 1] for i in range(1, len(tokens)))
  return prefixes


def next_word_data(sequences: Sequence[Sequence[int]],
                   max_sequence_len: int | None = None,
                   one_hot_classes: int | None = None) -> NextTokenData:
  """The course's next-word data from per-line token lists.

  Args:
    sequences: one token-id list per line.
    max_sequence_len: pad/cut prefixes to this length (label included; long
      prefixes lose their start, as Keras's default truncating="pre"); None
      uses the longest prefix.
    one_hot_classes: None for sparse labels (default); else one-hot labels
      of this width (the course's `total_words`).

  Returns:
    The features and labels.

  Raises:
    DataError: no line has two tokens, or max_sequence_len < 2.
  """
  if max_sequence_len is not None and max_sequence_len < 2:
    raise DataError(f"next_word_data: max_sequence_len must be >= 2 (one "
                    f"input token and the label), got {max_sequence_len}.")
  prefixes = ngram_prefixes(sequences)
  if not prefixes:
    raise DataError(f"next_word_data: none of the {len(sequences)} lines has "
                    f"two known tokens, so there is nothing to predict.")
  padded = pad_sequences(prefixes, maxlen=max_sequence_len, padding="pre")
  labels = padded[:, -1]
  if one_hot_classes is not None:
    labels = one_hot(labels, one_hot_classes)
  return NextTokenData(padded[:, :-1], labels, padded.shape[1])


def sliding_windows(ids: Sequence[int], length: int, shift: int = 1
                    ) -> NextTokenData:
  """Windows of `length` consecutive ids, each labelled by the next id.

  For character-level data: `ids[k:k+length] -> ids[k+length]`, for k = 0,
  shift, 2*shift, ...

  Args:
    ids: the whole encoded text.
    length: the window (feature) length, >= 1.
    shift: the step between window starts, >= 1.

  Returns:
    Features (N, length) and sparse labels (N,).

  Raises:
    DataError: bad length/shift, or a text shorter than length + 1.
  """
  if length < 1 or shift < 1:
    raise DataError(f"sliding_windows: length and shift must be >= 1, got "
                    f"length={length}, shift={shift}.")
  ids = np.asarray(ids, dtype=np.int32)
  if len(ids) < length + 1:
    raise DataError(f"sliding_windows: the text has {len(ids)} tokens, fewer "
                    f"than one window plus its label ({length + 1}); lower "
                    f"max_length.")
  starts = np.arange(0, len(ids) - length, shift)
  windows = np.lib.stride_tricks.sliding_window_view(ids, length + 1)[starts]
  return NextTokenData(np.ascontiguousarray(windows[:, :-1]),
                       np.ascontiguousarray(windows[:, -1]), length + 1)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
  """float32 one-hot rows, like `to_categorical(labels, num_classes)`.

  Raises:
    DataError: a label outside 0..num_classes-1.
  """
  labels = np.asarray(labels)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise DataError(f"one_hot: labels range {labels.min()}..{labels.max()} "
                    f"does not fit num_classes={num_classes}.")
  return np.eye(num_classes, dtype=np.float32)[labels]
