"""Images stored as CSV rows: `label,pixel1,...,pixel784` (Sign Language MNIST,
Kaggle's Fashion-MNIST CSV).

The header line is optional ("auto" detects it: a first field that is not a
number). Kaggle's Fashion-MNIST CSV has one; the Sign Language MNIST training
excerpt used here has none. CRLF line endings, a missing final newline and
blank lines are accepted. A row of the wrong length, a non-numeric value or a
pixel outside 0..255 raises a DataError naming the file, line and column.

Example:
  images, labels = read_image_csv("sign_mnist_train.csv")  # (N, 28, 28, 1)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from data.images import augment
from data.bundle import DataBundle
from data.images.info import ImageInfo
from data.errors import DataError

HEADER_MODES = ("auto", True, False)


def read_image_csv(path: str, image_shape: Sequence[int] = (28, 28),
                   header: bool | str = "auto"
                   ) -> tuple[np.ndarray, np.ndarray]:
  """Parses a label-then-pixels CSV into images and labels.

  Args:
    path: the CSV file.
    image_shape: (height, width) of each image; rows hold 1 + h * w values.
    header: True, False, or "auto" (a first field that is not a number).

  Returns:
    (images uint8 [N, height, width, 1], labels int32 [N]).

  Raises:
    DataError: unreadable file, no rows, or a bad row (named by line).
  """
  if header not in HEADER_MODES:
    raise ValueError(f"header must be one of {HEADER_MODES}, got {header!r}")
  height, width = (int(v) for v in image_shape)
  lines = _read_lines(path)
  numbered = [(number, line) for number, line in enumerate(lines, start=1)
              if line.strip()]
  if numbered and _has_header(numbered[0][1], header):
    _check_header(path, *numbered[0], 1 + height * width)
    numbered = numbered[1:]
  if not numbered:
    raise DataError(f"{path} has no data rows; expected lines of "
                    f"label,pixel1,...,pixel{height * width}")
  rows = np.stack([_parse_row(path, number, line, height * width)
                   for number, line in numbered])
  images = rows[:, 1:].astype(np.uint8).reshape(-1, height, width, 1)
  return images, rows[:, 0].astype(np.int32)


def _read_lines(path: str) -> list[str]:
  try:
    with open(path, "rb") as stream:
      raw = stream.read()
  except OSError as error:
    raise DataError(f"cannot read {path}: {error.strerror}") from error
  try:
    return raw.decode("utf-8-sig").splitlines()
  except UnicodeDecodeError as error:
    raise DataError(f"{path} is not UTF-8 text (byte {error.start}); expected "
                    f"a CSV of numbers") from error


def _is_number(text: str) -> bool:
  try:
    float(text)
  except ValueError:
    return False
  return True


def _has_header(first_line: str, header: bool | str) -> bool:
  if header == "auto":
    return not _is_number(first_line.split(",", 1)[0].strip())
  return bool(header)


def _check_header(path: str, number: int, line: str, expected: int) -> None:
  fields = line.split(",")
  if len(fields) != expected:
    raise DataError(f"{path}:{number}: header has {len(fields)} columns, "
                    f"expected {expected} (label + {expected - 1} pixels)")


def _parse_row(path: str, number: int, line: str, pixels: int) -> np.ndarray:
  fields = line.split(",")
  if len(fields) != pixels + 1:
    raise DataError(f"{path}:{number}: {len(fields)} values, expected "
                    f"{pixels + 1} (label + {pixels} pixels)")
  try:
    values = np.array(fields, dtype=np.float64)
  except ValueError:
    column, text = next((i, f) for i, f in enumerate(fields, start=1)
                        if not _is_number(f.strip()))
    raise DataError(f"{path}:{number}: column {column} is {text.strip()!r}, "
                    f"expected a number") from None
  bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0)
  bad[1:] |= values[1:] > 255
  if bad.any():
    column = int(np.flatnonzero(bad)[0])
    what = "a label >= 0" if column == 0 else "a pixel value in 0..255"
    raise DataError(f"{path}:{number}: column {column + 1} is "
                    f"{fields[column].strip()!r}, expected {what} (integer)")
  return values.astype(np.int64)


def image_csv_bundle(train_path: str, validation_path: str | None = None, *,
                     image_shape: Sequence[int] = (28, 28),
                     batch_size: int = 32, seed: int = 0,
                     augmentation: augment.Augmentation | None = None,
                     rescale: float | None = 1.0 / 255,
                     header: bool | str = "auto") -> DataBundle:
  """Training (+ validation) batches from label-then-pixels CSV files.

  Args:
    train_path: training CSV.
    validation_path: validation CSV or None.
    image_shape: (height, width).
    batch_size: images per batch.
    seed: seed of shuffling and augmentation.
    augmentation: applied to training batches only.
    rescale: pixel factor, 1/255 by default.
    header: see `read_image_csv`.

  Returns:
    A `DataBundle` of (float32 [B, h, w, 1], int32 [B]) batches whose
    `ImageInfo` holds num_classes (largest label + 1) and image_size.
  """
  train_images, train_labels = read_image_csv(train_path, image_shape, header)
  largest = int(train_labels.max())
  validation = None
  if validation_path is not None:
    images, labels = read_image_csv(validation_path, image_shape, header)
    largest = max(largest, int(labels.max()))
    validation = augment.array_batches(images, labels, batch_size, seed=seed,
                                       shuffle=False, rescale=rescale)(0)
  train = augment.array_batches(train_images, train_labels, batch_size,
                                seed=seed, augmentation=augmentation,
                                rescale=rescale)
  return DataBundle(
      train=train, validation=validation,
      steps_per_epoch=math.ceil(len(train_labels) / batch_size),
      info=ImageInfo(label_mode="sparse", num_classes=largest + 1,
                     image_size=tuple(int(v) for v in image_shape),
                     channels=1, num_examples=len(train_labels),
                     num_validation=(0 if validation_path is None
                                     else len(labels))))
