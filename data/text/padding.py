"""`pad_sequences` with Keras's semantics, in NumPy and in TensorFlow ops.

Example:
  pad_sequences([[1, 2, 3], [4]], maxlen=2)                  # [[2, 3], [0, 4]]
  pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post",
                truncating="post")                          # [[1, 2], [4, 0]]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from data.errors import DataError

MODES = ("pre", "post")


def pad_sequences(sequences: Sequence[Sequence], maxlen: int | None = None,
                  padding: str = "pre", truncating: str = "pre",
                  value: float = 0, dtype: str | np.dtype = "int32"
                  ) -> np.ndarray:
  """Pads (and cuts) sequences to one length, exactly like Keras's function.

  Args:
    sequences: a list of sequences (lists or arrays; items may themselves be
      arrays of one common shape).
    maxlen: output length (>= 1); None uses the longest sequence.
    padding: "pre" puts the fill value before a short sequence, "post" after.
    truncating: "pre" drops the start of a long sequence, "post" the end.
    value: the fill value.
    dtype: the output dtype.

  Returns:
    An array of shape (len(sequences), maxlen) + item shape.

  Raises:
    DataError: maxlen < 1, a bad padding/truncating mode, or items of
      different shapes.
  """
  check_padding_args(maxlen, padding, truncating)
  lengths = [len(s) for s in sequences]
  item_shape = next((np.asarray(s).shape[1:] for s in sequences if len(s)),
                    ())
  if maxlen is None:
    maxlen = max(lengths, default=0)
  out = np.full((len(sequences), maxlen) + tuple(item_shape), value,
                dtype=dtype)
  for row, sequence in enumerate(sequences):
    if not len(sequence):
      continue
    kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
    kept = np.asarray(kept, dtype=dtype)
    if kept.shape[1:] != tuple(item_shape):
      raise DataError(
          f"pad_sequences: sequence {row} has items of shape "
          f"{kept.shape[1:]}, but the first non-empty one has "
          f"{tuple(item_shape)}; all items must have one shape.")
    if padding == "post":
      out[row, :len(kept)] = kept
    else:
      out[row, maxlen - len(kept):] = kept
  return out


def pad_ragged(ids: tf.RaggedTensor, maxlen: int | None = None,
               padding: str = "pre", truncating: str = "pre",
               value: int = 0) -> tf.Tensor:
  """`pad_sequences` for a ragged [N, None] tensor, in TensorFlow ops.

  Usable inside `tf.function` and `tf.data`.

  Args:
    ids: ragged ids, one row per sequence.
    maxlen: output length (>= 1); None uses the longest row.
    padding: "pre" or "post".
    truncating: "pre" or "post".
    value: the fill value.

  Returns:
    A dense [N, maxlen] tensor of `ids.dtype`.

  Raises:
    DataError: a bad maxlen, padding or truncating.
  """
  check_padding_args(maxlen, padding, truncating)
  lengths = ids.row_lengths()
  if maxlen is None:
    length = tf.reduce_max(tf.concat([lengths, [0]], 0))
  else:
    length = tf.constant(maxlen, lengths.dtype)
  kept = tf.minimum(lengths, length)
  first = ids.row_limits() - kept if truncating == "pre" else ids.row_starts()
  if padding == "post":
    index = tf.ragged.range(first, first + kept)
  else:  # Rows reversed, padded after, then turned back.
    index = tf.ragged.range(first + kept - 1, first - 1, -1)
  rows = index.with_values(tf.gather(ids.values, index.values))
  out = rows.to_tensor(tf.cast(value, ids.dtype),
                       shape=tf.stack([ids.nrows(), length]))
  if padding == "pre":
    out = tf.reverse(out, [1])
  if maxlen is not None:
    out = tf.ensure_shape(out, [None, maxlen])
  return out


def check_padding_args(maxlen: int | None, padding: str,
                       truncating: str) -> None:
  """Validates the arguments shared by the padding functions.

  Raises:
    DataError: maxlen < 1 or not an int, or a mode not in ("pre", "post").
  """
  if maxlen is not None and (isinstance(maxlen, bool)
                             or not isinstance(maxlen, (int, np.integer))
                             or maxlen < 1):
    raise DataError(
        f"pad_sequences: maxlen (max_length) must be an integer >= 1 or "
        f"None, got {maxlen!r}.")
  for name, mode in (("padding", padding), ("truncating", truncating)):
    if mode not in MODES:
      raise DataError(
          f"pad_sequences: {name} (padding_type/trunc_type) must be 'pre' or "
          f"'post', got {mode!r}.")
