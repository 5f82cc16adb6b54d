"""Tests for data/arrays.py: IDX and npz readers on valid and broken files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from data.images import arrays
from data.errors import DataError

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
LABELS = np.array([7, 2, 1], dtype=np.uint8)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
  header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
  header += struct.pack(f">{array.ndim}I", *array.shape)
  return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, gz: bool = False) -> str:
  path.write_bytes(gzip.compress(data) if gz else data)
  return str(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzipped"])
def test_reads_idx_split(tmp_path, gz):
  suffix = ".gz" if gz else ""
  write(tmp_path / f"t10k-images-idx3-ubyte{suffix}", idx_bytes(IMAGES), gz)
  write(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", idx_bytes(LABELS), gz)
  images, labels = arrays.load_idx_split(str(tmp_path), "t10k")
  assert images.dtype == np.uint8 and images.shape == (3, 28, 28)
  np.testing.assert_array_equal(images, IMAGES)
  np.testing.assert_array_equal(labels, LABELS)


def test_reads_big_endian_types(tmp_path):
  shorts = np.array([[1, -2], [300, 4]], dtype=np.int16)
  floats = np.array([1.5, -2.25], dtype=np.float32)
  got = arrays.read_idx(write(tmp_path / "s", idx_bytes(shorts, 0x0B)))
  np.testing.assert_array_equal(got, shorts)
  got = arrays.read_idx(write(tmp_path / "f", idx_bytes(floats, 0x0D)))
  np.testing.assert_array_equal(got, floats)


@pytest.mark.parametrize("data,pattern", [
    (b"\x01\x00\x08\x03" + bytes(12), "bad IDX magic number 0x01000803"),
    (b"\x00\x00\x07\x01" + bytes(8), "bad IDX magic"),
    (b"\x00\x00", "too short for an IDX header"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x03", "truncated IDX header"),
    (idx_bytes(IMAGES)[:-5], r"truncated: header says shape \(3, 28, 28\)"),
    (idx_bytes(IMAGES) + b"\x00", "has trailing bytes"),
], ids=["bad_magic", "unknown_type", "too_short", "short_header",
        "truncated_data", "trailing_bytes"])
def test_broken_idx_files(tmp_path, data, pattern):
  with pytest.raises(DataError, match=pattern):
    arrays.read_idx(write(tmp_path / "x-idx", data))


def test_wrong_kind_of_file(tmp_path):
  labels = write(tmp_path / "labels", idx_bytes(LABELS))
  with pytest.raises(DataError, match="magic number is 2049, expected 2051"):
    arrays.load_idx_pair(labels, labels)


def test_count_mismatch(tmp_path):
  images = write(tmp_path / "images", idx_bytes(IMAGES))
  labels = write(tmp_path / "labels", idx_bytes(LABELS[:2]))
  with pytest.raises(DataError, match="holds 3 images but .* holds 2 labels"):
    arrays.load_idx_pair(images, labels)


def test_corrupt_gzip(tmp_path):
  data = gzip.compress(idx_bytes(LABELS))[:-6]
  with pytest.raises(DataError, match="corrupt gzip data"):
    arrays.read_idx(write(tmp_path / "x.gz", data))


def test_missing_split_files_are_listed(tmp_path):
  write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS))
  with pytest.raises(DataError, match="no train images file .* "
                     "train-images-idx3-ubyte.gz, train-images-idx3-ubyte"):
    arrays.load_idx_split(str(tmp_path), "train")


def save_npz(path, **overrides) -> str:
  content = dict(x_train=IMAGES, y_train=LABELS, x_test=IMAGES[:2],
                 y_test=LABELS[:2])
  content.update(overrides)
  np.savez(path, **{k: v for k, v in content.items() if v is not None})
  return str(path)


def test_reads_mnist_npz(tmp_path):
  (x_train, y_train), (x_test, y_test) = arrays.load_mnist_npz(
      save_npz(tmp_path / "mnist.npz"))
  np.testing.assert_array_equal(x_train, IMAGES)
  np.testing.assert_array_equal(y_train, LABELS)
  assert x_test.shape == (2, 28, 28) and y_test.dtype == np.uint8


@pytest.mark.parametrize("overrides,pattern", [
    ({"y_test": None}, r"missing arrays \['y_test'\]"),
    ({"y_train": np.array([{"a": 1}], dtype=object)}, "without unpickling"),
    ({"x_train": IMAGES.astype(np.float32)}, "expected uint8"),
    ({"y_train": LABELS[:2]}, r"expected \(3,\)"),
], ids=["missing_key", "pickled_object", "float_images", "short_labels"])
def test_broken_npz(tmp_path, overrides, pattern):
  path = save_npz(tmp_path / "mnist.npz", **overrides)
  with pytest.raises(DataError, match=pattern):
    arrays.load_mnist_npz(path)


def test_not_an_npz(tmp_path):
  path = tmp_path / "mnist.npz"
  path.write_bytes(b"PK\x03\x04 broken zip")
  with pytest.raises(DataError, match="not a readable .npz"):
    arrays.load_mnist_npz(str(path))
