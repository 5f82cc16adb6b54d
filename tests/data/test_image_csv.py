"""Tests for data/image_csv.py: label-then-pixels CSV files."""

from __future__ import annotations

import numpy as np
import pytest

from data.images import augment
from data.images import image_csv
from data.errors import DataError

ROWS = [[3, 0, 10, 20, 255], [7, 1, 2, 3, 4], [0, 9, 8, 7, 6]]


def write_csv(path, rows, header=False, newline="\n", final_newline=True):
  lines = [",".join(str(v) for v in row) for row in rows]
  if header:
    lines.insert(0, "label,pixel1,pixel2,pixel3,pixel4")
  text = newline.join(lines) + (newline if final_newline else "")
  path.write_bytes(text.encode())
  return str(path)


@pytest.mark.parametrize("header,newline,final_newline", [
    (True, "\n", True),
    (False, "\r\n", True),
    (False, "\r\n", False),
    (True, "\r\n", False),
], ids=["header_lf", "no_header_crlf", "crlf_no_final_newline",
        "header_crlf_no_final_newline"])
def test_reads_rows_into_images_and_labels(tmp_path, header, newline,
                                           final_newline):
  path = write_csv(tmp_path / "x.csv", ROWS, header, newline, final_newline)
  images, labels = image_csv.read_image_csv(path, image_shape=(2, 2))
  assert images.dtype == np.uint8 and images.shape == (3, 2, 2, 1)
  np.testing.assert_array_equal(labels, [3, 7, 0])
  np.testing.assert_array_equal(images[0, ..., 0], [[0, 10], [20, 255]])
  np.testing.assert_array_equal(images[2, ..., 0], [[9, 8], [7, 6]])


def test_default_shape_is_28_by_28(tmp_path):
  row = [5] + list(range(256)) * 3 + list(range(16))
  path = write_csv(tmp_path / "x.csv", [row, row])
  images, labels = image_csv.read_image_csv(path)
  assert images.shape == (2, 28, 28, 1)
  np.testing.assert_array_equal(images[1].ravel(), row[1:])
  np.testing.assert_array_equal(labels, [5, 5])


@pytest.mark.parametrize("bad_row,pattern", [
    ([1, 2, 3], r"x\.csv:2: 3 values, expected 5 \(label \+ 4 pixels\)"),
    (["1", "2", "abc", "4", "5"], r"x\.csv:2: column 3 is 'abc'"),
    ([1, 2, 3, 256, 5], r"x\.csv:2: column 4 is '256', expected a pixel"),
    ([1, 2, 3, 4.5, 5], r"x\.csv:2: column 4 is '4.5'"),
    ([-1, 2, 3, 4, 5], r"x\.csv:2: column 1 is '-1', expected a label"),
], ids=["short_row", "non_numeric", "pixel_too_big", "fraction",
        "negative_label"])
def test_bad_rows_are_named_by_line(tmp_path, bad_row, pattern):
  path = write_csv(tmp_path / "x.csv", [ROWS[0], bad_row, ROWS[1]])
  with pytest.raises(DataError, match=pattern):
    image_csv.read_image_csv(path, image_shape=(2, 2))


def test_line_numbers_count_the_header(tmp_path):
  path = write_csv(tmp_path / "x.csv", [ROWS[0], [1, 2]], header=True)
  with pytest.raises(DataError, match=r"x\.csv:3: 2 values"):
    image_csv.read_image_csv(path, image_shape=(2, 2))


@pytest.mark.parametrize("content,pattern", [
    ("label,pixel1,pixel2,pixel3,pixel4\n", "no data rows"),
    ("label,pixel1\n1,2,3,4,5\n", "header has 2 columns"),
], ids=["header_only", "short_header"])
def test_bad_files(tmp_path, content, pattern):
  path = tmp_path / "x.csv"
  path.write_text(content)
  with pytest.raises(DataError, match=pattern):
    image_csv.read_image_csv(str(path), image_shape=(2, 2))


def test_bundle_augments_training_only(tmp_path):
  rows = [[i % 3] + list(np.arange(16) * (i + 1) % 256) for i in range(6)]
  train = write_csv(tmp_path / "train.csv", rows)
  valid = write_csv(tmp_path / "valid.csv", rows[:2])
  settings = augment.Augmentation(rotation_range=40, horizontal_flip=True)
  bundle = image_csv.image_csv_bundle(train, valid, image_shape=(4, 4),
                                      batch_size=4, augmentation=settings)
  assert bundle.steps_per_epoch == 2
  assert bundle.info.num_classes == 3
  x, y = next(iter(bundle.validation))
  expected = np.array([r[1:] for r in rows[:2]]).reshape(2, 4, 4, 1) / 255.0
  np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)
  np.testing.assert_array_equal(y.numpy(), [0, 1])
  train_x = np.concatenate([x.numpy() for x, _ in bundle.train(0)])
  assert train_x.shape == (6, 4, 4, 1)
  originals = np.array([r[1:] for r in rows]).reshape(6, 4, 4, 1) / 255.0
  assert not any(np.allclose(t, o) for t in train_x for o in originals)
