"""GloVe reader and embedding matrix on tiny vector files."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError
from data.text.glove import embedding_matrix, read_glove

GLOVE = ("the 0.1 0.2 0.3\n"
         "dog -1.0 0.5 2.0\n"
         "cat 3 4 5\n"
         "\n"
         "café 0.0 -0.5 1e-1\n")


def write(tmp_path, content: str | bytes, name: str = "glove.txt") -> str:
  path = tmp_path / name
  if isinstance(content, str):
    path.write_text(content, encoding="utf-8")
  else:
    path.write_bytes(content)
  return str(path)


def test_reads_all_vectors(tmp_path):
  vectors = read_glove(write(tmp_path, GLOVE))
  assert sorted(vectors) == ["café", "cat", "dog", "the"]
  np.testing.assert_array_equal(vectors["dog"], [-1.0, 0.5, 2.0])
  assert vectors["café"].dtype == np.float32


def test_keeps_only_requested_words(tmp_path):
  vectors = read_glove(write(tmp_path, GLOVE), words={"dog": 1, "zebra": 2})
  assert list(vectors) == ["dog"]


def test_dimension_mismatch_names_line_and_word(tmp_path):
  content = GLOVE + "bird 1 2\n"
  with pytest.raises(DataError, match=r"glove\.txt:6: word 'bird' has 2 "
                     r"values, expected 3"):
    read_glove(write(tmp_path, content))


def test_expected_dim_checked_from_first_line(tmp_path):
  with pytest.raises(DataError, match=r"glove\.txt:1: word 'the' has 3 "
                     r"values, expected 100"):
    read_glove(write(tmp_path, GLOVE), dim=100)


def test_non_number_names_line(tmp_path):
  with pytest.raises(DataError, match=r"glove\.txt:2: word 'dog' has a value "
                     r"that is not a number"):
    read_glove(write(tmp_path, "the 1 2\ndog 1 x\n"))


def test_bad_utf8_names_line(tmp_path):
  with pytest.raises(DataError, match=r"glove\.txt:2: not UTF-8"):
    read_glove(write(tmp_path, b"the 1 2\ncaf\xe9 1 2\n"))


def test_empty_file_is_an_error(tmp_path):
  with pytest.raises(DataError, match="no vectors"):
    read_glove(write(tmp_path, "\n"))


def test_embedding_matrix_rows_and_found_count(tmp_path):
  vectors = read_glove(write(tmp_path, GLOVE))
  word_index = {"<OOV>": 1, "dog": 2, "zebra": 3, "the": 4, "cat": 5}
  glove = embedding_matrix(word_index, vectors)
  assert glove.matrix.shape == (6, 3) and glove.matrix.dtype == np.float32
  np.testing.assert_allclose(glove.matrix, [
      [0, 0, 0], [0, 0, 0], [-1.0, 0.5, 2.0], [0, 0, 0],
      [0.1, 0.2, 0.3], [3, 4, 5]], rtol=1e-6)
  assert (glove.num_found, glove.num_words) == (3, 5)
  assert glove.coverage == pytest.approx(0.6)


def test_embedding_matrix_cut_at_vocab_size(tmp_path):
  vectors = read_glove(write(tmp_path, GLOVE))
  glove = embedding_matrix({"dog": 1, "the": 2, "cat": 3}, vectors,
                           vocab_size=2)
  assert glove.matrix.shape == (3, 3)
  assert (glove.num_found, glove.num_words) == (2, 2)


def test_embedding_dim_must_match_vectors(tmp_path):
  vectors = read_glove(write(tmp_path, GLOVE))
  with pytest.raises(DataError, match=r"'dog' has 3 values but embedding_dim "
                     r"is 100"):
    embedding_matrix({"dog": 1}, vectors, dim=100)
