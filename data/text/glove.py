"""GloVe word vectors and the embedding matrix for a frozen Embedding.

A GloVe text file holds one word per line followed by its floats, separated
by spaces (`the 0.418 0.24968 -0.41242 ...`). The course builds a matrix of
shape (vocab_size + 1, dim): row i is the vector of the word with index i,
row 0 (padding) and words absent from GloVe stay zero.

Example:
  vectors = read_glove("glove.6B.100d.txt", words=tokenizer.word_index)
  glove = embedding_matrix(tokenizer.word_index, vectors)
  glove.matrix.shape, glove.num_found
"""

from __future__ import annotations

import dataclasses
import os
from typing import Collection, Mapping

import numpy as np
from absl import logging

from data.errors import DataError


@dataclasses.dataclass
class GloveMatrix:
  """An embedding matrix and how much of the vocabulary GloVe covered.

  Attributes:
    matrix: float32 array (vocab_size + 1, dim).
    num_found: vocabulary words that have a GloVe vector.
    num_words: vocabulary words considered (indices 1..vocab_size).
  """

  matrix: np.ndarray
  num_found: int
  num_words: int

  @property
  def coverage(self) -> float:
    """Fraction of the vocabulary found in GloVe."""
    return self.num_found / self.num_words if self.num_words else 0.0


def read_glove(path: str | os.PathLike, words: Collection[str] | None = None,
               dim: int | None = None) -> dict[str, np.ndarray]:
  """Reads GloVe text vectors.

  Args:
    path: the .txt file (UTF-8).
    words: keep only these words (e.g. a tokenizer's word_index), which saves
      memory on large files; None keeps all.
    dim: the expected vector size; None takes it from the first line.

  Returns:
    word -> float32 vector of length dim.

  Raises:
    DataError: a line whose number of values is not dim, or a value that is
      not a float (file, line and word named); an empty file.
  """
  path = os.fspath(path)
  keep = None if words is None else set(words)
  vectors = {}
  with open(path, "rb") as f:
    for line_number, raw in enumerate(f, start=1):
      parsed = _parse_line(path, line_number, _decode_line(path, line_number,
                                                           raw), dim)
      if parsed is None:
        continue
      word, values = parsed
      dim = len(values)
      if keep is None or word in keep:
        vectors[word] = _to_floats(path, line_number, word, values)
  if dim is None:
    raise DataError(f"{path}: no vectors; the GloVe file is empty.")
  return vectors


def _decode_line(path: str, line_number: int, raw: bytes) -> str:
  try:
    return raw.decode("utf-8")
  except UnicodeDecodeError:
    raise DataError(f"{path}:{line_number}: not UTF-8 text; GloVe files are "
                    f"UTF-8.") from None


def _parse_line(path: str, line_number: int, line: str, dim: int | None
                ) -> tuple[str, list[str]] | None:
  """(word, value strings) of one line; None for a blank line."""
  parts = line.rstrip("\r\n").rstrip(" ").split(" ")
  if len(parts) == 1 and not parts[0]:
    return None
  if len(parts) < 2:
    raise DataError(f"{path}:{line_number}: word {parts[0]!r} has no values; "
                    f"expected 'word v1 v2 ...'.")
  if dim is not None and len(parts) != dim + 1:
    raise DataError(
        f"{path}:{line_number}: word {parts[0]!r} has {len(parts) - 1} "
        f"values, expected {dim} (the vector size); the file is truncated or "
        f"mixes GloVe dimensions.")
  return parts[0], parts[1:]


def _to_floats(path: str, line_number: int, word: str,
               values: list[str]) -> np.ndarray:
  try:
    return np.asarray(values, dtype=np.float32)
  except ValueError:
    raise DataError(f"{path}:{line_number}: word {word!r} has a value that "
                    f"is not a number.") from None


def embedding_matrix(word_index: Mapping[str, int],
                     vectors: Mapping[str, np.ndarray],
                     vocab_size: int | None = None,
                     dim: int | None = None) -> GloveMatrix:
  """Builds the (vocab_size + 1, dim) matrix for a frozen Embedding.

  Args:
    word_index: word -> index (from 1), e.g. `Tokenizer.word_index`.
    vectors: word -> vector, from `read_glove`.
    vocab_size: the largest index kept; None uses len(word_index) as the
      course does. Words with a larger index are left out.
    dim: the vector size; None takes it from `vectors`. It must match the
      model's `embedding_dim`.

  Returns:
    The matrix and the found/considered counts (also logged).

  Raises:
    DataError: no vectors and no dim, or a vector of another size.
  """
  if dim is None:
    if not vectors:
      raise DataError("embedding_matrix: no GloVe vectors were read and no "
                      "dim was given.")
    dim = len(next(iter(vectors.values())))
  if vocab_size is None:
    vocab_size = len(word_index)
  matrix = np.zeros((vocab_size + 1, dim), dtype=np.float32)
  found = considered = 0
  for word, index in word_index.items():
    if not 1 <= index <= vocab_size:
      continue
    considered += 1
    vector = vectors.get(word)
    if vector is None:
      continue
    if len(vector) != dim:
      raise DataError(
          f"embedding_matrix: the GloVe vector of {word!r} has {len(vector)} "
          f"values but embedding_dim is {dim}; use the GloVe file of that "
          f"size (e.g. glove.6B.{dim}d.txt).")
    matrix[index] = vector
    found += 1
  logging.info("GloVe: found %d of %d vocabulary words (%.1f%%).", found,
               considered, 100.0 * found / max(considered, 1))
  return GloveMatrix(matrix, found, considered)
