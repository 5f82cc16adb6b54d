"""Image folders: one class, or an empty class folder, is refused up front."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.images import image_folder
from data.errors import DataError


def write_png(path, seed=0):
  path.parent.mkdir(parents=True, exist_ok=True)
  image = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), np.uint8)
  tf.io.write_file(str(path), tf.io.encode_png(image))


def bundle(root):
  return image_folder.image_folder_bundle(str(root), image_size=(6, 6),
                                          batch_size=2)


def test_one_class_is_refused(tmp_path):
  write_png(tmp_path / "cats" / "0.png")
  with pytest.raises(DataError, match="only the class.*at least 2"):
    bundle(tmp_path)


def test_empty_class_folder_is_named(tmp_path):
  write_png(tmp_path / "cats" / "0.png")
  write_png(tmp_path / "dogs" / "0.png")
  (tmp_path / "birds").mkdir()
  with pytest.raises(DataError, match="birds hold no usable images"):
    bundle(tmp_path)


def test_class_of_only_broken_files_is_named(tmp_path):
  write_png(tmp_path / "cats" / "0.png")
  write_png(tmp_path / "dogs" / "0.png")
  (tmp_path / "fish").mkdir()
  (tmp_path / "fish" / "0.png").write_bytes(b"")
  with pytest.raises(DataError, match="fish hold no usable images"):
    bundle(tmp_path)


def test_two_usable_classes_pass(tmp_path):
  write_png(tmp_path / "cats" / "0.png")
  write_png(tmp_path / "dogs" / "0.png", seed=1)
  assert bundle(tmp_path).info.class_names == ["cats", "dogs"]
