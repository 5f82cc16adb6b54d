"""MNIST and Fashion-MNIST from the files their publishers ship.

Two formats: Keras's `mnist.npz` (keys x_train, y_train, x_test, y_test; read
with `allow_pickle=False`) and the four IDX files (`train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-...`), gzipped or not. IDX headers are checked
(magic number, element type, dimension count, sizes against the file length)
and images/labels must agree in count.

IDX layout (big-endian): two zero bytes, a type byte (0x08 = uint8), a byte
with the number of dimensions, one uint32 per dimension, then the data.

Example:
  images, labels = load_idx_split("/data/mnist", "t10k")   # (10000, 28, 28)
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib

import numpy as np

from data.errors import DataError

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x0803  # uint8, 3 dimensions
LABELS_MAGIC = 0x0801  # uint8, 1 dimension
SPLITS = ("train", "t10k")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_bytes(path: str) -> bytes:
  """The file's bytes, gunzipped when it starts with the gzip magic."""
  try:
    with open(path, "rb") as stream:
      raw = stream.read()
  except OSError as error:
    raise DataError(f"cannot read IDX file {path}: {error.strerror}") from error
  if raw[:2] != b"\x1f\x8b":
    return raw
  try:
    return gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as error:
    raise DataError(f"{path}: corrupt gzip data ({error}); download the file "
                    f"again") from error


def read_idx(path: str, expected_magic: int | None = None) -> np.ndarray:
  """Reads one IDX file (gzipped or not) into a native-endian array.

  Args:
    path: the file.
    expected_magic: if given, the required magic number, e.g. `IMAGES_MAGIC`
      (2051) for MNIST images or `LABELS_MAGIC` (2049) for labels.

  Returns:
    An array shaped as the header says.

  Raises:
    DataError: bad magic, unknown type, or a size that disagrees with the
      header (truncated or with trailing bytes).
  """
  data = _read_bytes(path)
  if len(data) < 4:
    raise DataError(f"{path}: {len(data)} bytes is too short for an IDX "
                    f"header (4-byte magic number + dimensions)")
  magic = struct.unpack(">I", data[:4])[0]
  zeros, type_code, ndim = data[0:2], data[2], data[3]
  if zeros != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0:
    raise DataError(f"{path}: bad IDX magic number 0x{magic:08x} ({magic}); "
                    f"expected 0x0000TTDD with type TT in "
                    f"{{08,09,0b,0c,0d,0e}} and DD >= 1 dimensions, e.g. "
                    f"2051 for images or 2049 for labels")
  if expected_magic is not None and magic != expected_magic:
    raise DataError(f"{path}: IDX magic number is {magic}, expected "
                    f"{expected_magic}; is this the right file?")
  header_size = 4 + 4 * ndim
  if len(data) < header_size:
    raise DataError(f"{path}: truncated IDX header: {ndim} dimensions need "
                    f"{header_size} bytes, the file has {len(data)}")
  dims = struct.unpack(f">{ndim}I", data[4:header_size])
  dtype = IDX_TYPES[type_code]
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  actual = len(data) - header_size
  if actual != expected:
    what = "truncated" if actual < expected else "has trailing bytes"
    raise DataError(f"{path}: {what}: header says shape {tuple(dims)} = "
                    f"{expected} data bytes, the file holds {actual}")
  array = np.frombuffer(data, dtype=dtype, offset=header_size)
  return array.reshape(dims).astype(dtype.newbyteorder("="))


def load_idx_pair(images_path: str, labels_path: str
                  ) -> tuple[np.ndarray, np.ndarray]:
  """Reads matching IDX image and label files.

  Args:
    images_path: an idx3-ubyte file (magic 2051).
    labels_path: an idx1-ubyte file (magic 2049).

  Returns:
    (images uint8 (N, rows, cols), labels uint8 (N,)).

  Raises:
    DataError: a bad file, or image and label counts that differ.
  """
  images = read_idx(images_path, IMAGES_MAGIC)
  labels = read_idx(labels_path, LABELS_MAGIC)
  if images.shape[0] != labels.shape[0]:
    raise DataError(f"{images_path} holds {images.shape[0]} images but "
                    f"{labels_path} holds {labels.shape[0]} labels; use the "
                    f"files of the same split")
  return images, labels


def idx_paths(directory: str, split: str) -> tuple[str, str]:
  """Finds the image and label files of a split in `directory`.

  Accepts `<split>-images-idx3-ubyte[.gz]` and `<split>-images.idx3-ubyte`
  (and the same for labels).

  Args:
    directory: folder holding the IDX files.
    split: "train" or "t10k".

  Returns:
    (images_path, labels_path).

  Raises:
    DataError: unknown split or a missing file (the message lists the names
      looked for).
  """
  if split not in SPLITS:
    raise DataError(f"unknown MNIST split {split!r}; expected one of {SPLITS}")
  return (_find_idx(directory, split, "images", 3),
          _find_idx(directory, split, "labels", 1))


def _find_idx(directory: str, split: str, kind: str, ndim: int) -> str:
  stem = f"{split}-{kind}"
  names = [f"{stem}-idx{ndim}-ubyte.gz", f"{stem}-idx{ndim}-ubyte",
           f"{stem}.idx{ndim}-ubyte"]
  for name in names:
    path = os.path.join(directory, name)
    if os.path.isfile(path):
      return path
  raise DataError(f"no {split} {kind} file in {directory}; expected one of "
                  f"{', '.join(names)}")


def load_idx_split(directory: str, split: str = "train"
                   ) -> tuple[np.ndarray, np.ndarray]:
  """Reads one split of MNIST or Fashion-MNIST from its IDX files.

  Args:
    directory: folder with the publisher's IDX files.
    split: "train" or "t10k".

  Returns:
    (images uint8 (N, 28, 28), labels uint8 (N,)).

  Raises:
    DataError: missing or bad files.
  """
  return load_idx_pair(*idx_paths(directory, split))


def load_mnist_npz(path: str) -> tuple[tuple[np.ndarray, np.ndarray],
                                       tuple[np.ndarray, np.ndarray]]:
  """Reads Keras's `mnist.npz` without unpickling anything.

  Args:
    path: the .npz file.

  Returns:
    ((x_train, y_train), (x_test, y_test)) as uint8 arrays, images (N, 28, 28).

  Raises:
    DataError: not an npz, a missing key, object arrays, or bad shapes.
  """
  try:
    with np.load(path, allow_pickle=False) as archive:
      missing = [key for key in NPZ_KEYS if key not in archive.files]
      if missing:
        raise DataError(f"{path}: missing arrays {missing}; an MNIST npz "
                        f"holds {', '.join(NPZ_KEYS)}")
      arrays = {key: archive[key] for key in NPZ_KEYS}
  except (OSError, zipfile.BadZipFile, EOFError) as error:
    raise DataError(f"{path} is not a readable .npz file ({error}); download "
                    f"it again") from error
  except ValueError as error:
    raise DataError(f"{path}: cannot load without unpickling ({error}); only "
                    f"plain numeric arrays are accepted") from error
  return (_checked_split(path, arrays, "train"),
          _checked_split(path, arrays, "test"))


def _checked_split(path: str, arrays: dict[str, np.ndarray], split: str
                   ) -> tuple[np.ndarray, np.ndarray]:
  images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
  if images.ndim != 3 or images.dtype != np.uint8:
    raise DataError(f"{path}: x_{split} has shape {images.shape} and dtype "
                    f"{images.dtype}; expected uint8 (N, rows, cols)")
  if labels.shape != (images.shape[0],):
    raise DataError(f"{path}: y_{split} has shape {labels.shape}; expected "
                    f"({images.shape[0]},) to match x_{split}")
  if labels.dtype.kind not in "iu" or (
      labels.size and (labels.min() < 0 or labels.max() > 255)):
    raise DataError(f"{path}: y_{split} must hold integer labels in 0..255, "
                    f"got dtype {labels.dtype}")
  return images, labels.astype(np.uint8)
