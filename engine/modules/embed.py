"""Embedding: a lookup table from integer ids to dense vectors."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from engine import initializers
from engine.module import Module


def _initial_table(owner: str, weights, shape: tuple[int, int],
                   dtype: tf.DType) -> np.ndarray:
  """`weights` (a matrix or Keras's `[matrix]`) checked against `shape`."""
  if isinstance(weights, (list, tuple)) and len(weights) == 1:
    weights = weights[0]
  table = np.asarray(weights)
  if table.shape != shape:
    raise ValueError(
        f"{owner}: weights must have shape (input_dim, output_dim) = {shape}, "
        f"got {table.shape}; build the matrix with input_dim rows (vocabulary "
        "size) and output_dim columns.")
  return table.astype(dtype.as_numpy_dtype)


class Embedding(Module):
  """Maps integer ids of shape (batch, ...) to vectors (batch, ..., dim).

  The table `embeddings` (input_dim, output_dim) is created in the
  constructor, since its shape does not depend on the input.

  Example:

    embed = Embedding(10000, 16, input_length=120)
    vectors = embed(tf.zeros([32, 120], tf.int64))  # shape (32, 120, 16)

    frozen = Embedding(vocab, 100, weights=[matrix], trainable=False)
  """

  def __init__(self, input_dim: int, output_dim: int,
               input_length: int | None = None,
               embeddings_initializer="uniform", weights=None,
               trainable: bool = True, name: str | None = None,
               dtype: tf.DType = tf.float32):
    """Creates the layer and its table.

    Args:
      input_dim: vocabulary size (ids are in [0, input_dim)).
      output_dim: vector size.
      input_length: the expected sequence length (for summaries); when
        given, inputs of another length are rejected.
      embeddings_initializer: name or callable, used when `weights` is None.
      weights: initial table, a (input_dim, output_dim) array or `[array]`.
      trainable: False freezes the table.
      name: module name (default "embedding").
      dtype: the table's floating dtype.

    Raises:
      ValueError: a bad size, or `weights` of the wrong shape.
    """
    super().__init__(name=name or "embedding", trainable=trainable)
    for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
      if not isinstance(value, int) or value < 1:
        raise ValueError(f"{self.name}: {arg} must be an int >= 1, got "
                         f"{value!r}.")
    if input_length is not None and (
        not isinstance(input_length, int) or input_length < 1):
      raise ValueError(f"{self.name}: input_length must be None or an int >= "
                       f"1, got {input_length!r}.")
    self.input_dim, self.output_dim = input_dim, output_dim
    self.input_length = input_length
    self.dtype = tf.as_dtype(dtype)
    shape = (input_dim, output_dim)
    if weights is None:
      initial = initializers.get(embeddings_initializer)(shape, self.dtype)
    else:
      initial = _initial_table(self.name, weights, shape, self.dtype)
    with self.name_scope:
      self.embeddings = tf.Variable(initial, name="embeddings")
    self._built = True

  def __call__(self, ids, training: bool = False) -> tf.Tensor:
    """Looks up `ids` (any integer dtype); `training` is ignored.

    Raises:
      ValueError: the sequence length differs from `input_length`.
    """
    ids = tf.convert_to_tensor(ids)
    self._check_length(ids)
    vectors = tf.gather(self.embeddings, tf.cast(ids, tf.int32))
    if self.compute_dtype is not None:  # the table stays float32
      vectors = tf.cast(vectors, self.compute_dtype)
    return vectors

  def _check_length(self, ids: tf.Tensor) -> None:
    """Rejects sequences whose length (dim 1) is not `input_length`."""
    if self.input_length is None or ids.shape.rank in (None, 0, 1):
      return
    expected = (f"{self.name}: built for input_length {self.input_length} "
                "but got sequences of length")
    length = ids.shape[1]
    if length is None:  # Only known when the traced function runs.
      tf.debugging.assert_equal(
          tf.shape(ids)[1], self.input_length,
          message=f"{expected} tf.shape(ids)[1]; pad or truncate them.")
    elif length != self.input_length:
      raise ValueError(
          f"{expected} {length} (input shape {ids.shape}); pad or truncate "
          f"them to {self.input_length}.")
