"""Held-out image test sets, read with a trained model's preprocessing.

The course scores a trained model on data it never saw (MNIST's 10,000
t10k images, a validation folder). These readers turn such a set into
batched `(pixels, labels)` exactly as the training pipeline did: the trained
image size and channels, the same decode/resize/round, the same `rescale`,
labels encoded with the trained label mode, and the class order of training.
A folder whose class sub-folders differ from the trained classes is refused.

Example:
  dataset = folder_test_split("/data/rps-test", ["paper", "rock",
                              "scissors"], (150, 150), 3, "categorical")
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import tensorflow as tf

from data.images import arrays, augment
from data.errors import DataError
from data.images.image_csv import read_image_csv
from data.images.image_folder import (folder_batches, list_image_files,
                               load_image_folder)

_IDX_SPLITS = ("t10k", "train")


def read_test_arrays(path: str, image_shape: Sequence[int]
                     ) -> tuple[np.ndarray, np.ndarray]:
  """uint8 images [N, H, W, 1] and int32 labels of an array test set.

  Args:
    path: a folder of IDX files (the t10k split, else the train split), a
      Keras-style .npz (x_test, y_test) or a label-then-pixels CSV.
    image_shape: (height, width) of the trained images.

  Raises:
    DataError: a missing or unreadable file (named).
  """
  if os.path.isdir(path):
    for split in _IDX_SPLITS:
      try:
        images, labels = arrays.load_idx_split(path, split)
        break
      except DataError:
        if split == _IDX_SPLITS[-1]:
          raise
  elif path.lower().endswith(".npz"):
    _, (images, labels) = arrays.load_mnist_npz(path)
  elif path.lower().endswith(".csv"):
    images, labels = read_image_csv(path, tuple(image_shape)[:2])
  else:
    raise DataError(f"test data {path} is not a folder of IDX files, an .npz "
                    f"or a .csv" + ("" if os.path.exists(path)
                                    else " (it does not exist)"))
  images = images[..., np.newaxis] if images.ndim == 3 else images
  if tuple(images.shape[1:3]) != tuple(image_shape)[:2]:
    raise DataError(f"test data {path} has {images.shape[1]}x"
                    f"{images.shape[2]} images, but the model was trained on "
                    f"{image_shape[0]}x{image_shape[1]}")
  return images, labels.astype(np.int32)


def array_test_split(path: str, class_names: Sequence[str],
                     image_shape: Sequence[int], batch_size: int = 32,
                     rescale: float = 1.0 / 255) -> tf.data.Dataset:
  """Batches of an array test set (MNIST-style), in file order.

  Raises:
    DataError: unreadable data, or labels outside the trained classes.
  """
  images, labels = read_test_arrays(path, image_shape)
  if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
    raise DataError(f"test data {path} has labels {labels.min()}.."
                    f"{labels.max()}, but the model knows {len(class_names)} "
                    f"classes (0..{len(class_names) - 1})")
  return augment.array_batches(images, labels, batch_size, shuffle=False,
                               rescale=rescale)(0)


def check_same_classes(path: str, found: Sequence[str],
                       trained: Sequence[str]) -> None:
  """Refuses a test folder whose classes differ from the trained ones.

  Raises:
    DataError: names the missing and the unknown classes.
  """
  if list(found) == list(trained):
    return
  missing = [c for c in trained if c not in found]
  unknown = [c for c in found if c not in trained]
  raise DataError(
      f"test folder {path} has classes {', '.join(found)}, but the model was "
      f"trained on {', '.join(trained)}"
      + (f"; missing: {', '.join(missing)}" if missing else "")
      + (f"; not trained: {', '.join(unknown)}" if unknown else ""))


def folder_test_split(path: str, class_names: Sequence[str],
                      image_size: Sequence[int], channels: int,
                      label_mode: str, batch_size: int = 32,
                      rescale: float = 1.0 / 255) -> tf.data.Dataset:
  """Batches of a class-per-folder test set, in file order.

  Args:
    path: root folder with one sub-folder per trained class.
    class_names: the trained classes, in label order.
    image_size: the trained (height, width).
    channels: the trained channels.
    label_mode: the trained label mode ("binary", "sparse", "categorical").
    batch_size: images per batch.
    rescale: the trained pixel factor.

  Raises:
    DataError: a missing folder, other classes, or no usable image.
  """
  found, _, _ = list_image_files(path)
  check_same_classes(path, found, class_names)
  folder = load_image_folder(path, tuple(image_size)[:2], channels,
                             verbose=False)
  return folder_batches(folder, batch_size, label_mode, shuffle=False,
                        rescale=rescale)(0)
