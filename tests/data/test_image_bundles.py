"""data/images/bundles.py: loading single image files for prediction."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.images import bundles


def _write_png(path, image):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tf.io.write_file(str(path), tf.io.encode_png(image))


def test_load_image_files_scales_and_names_bad_files(tmp_path):
  image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
  _write_png(tmp_path / "a.png", image)
  loaded = bundles.load_image_files([str(tmp_path / "a.png")], (4, 4, 3))
  np.testing.assert_allclose(loaded[0], image / 255.0, atol=1e-6)
  (tmp_path / "bad.jpg").write_bytes(b"not an image")
  with pytest.raises(DataError, match="cannot decode .*bad.jpg"):
    bundles.load_image_files([str(tmp_path / "bad.jpg")], (4, 4, 3))
  with pytest.raises(DataError, match="missing.png does not exist"):
    bundles.load_image_files([str(tmp_path / "missing.png")], (4, 4, 3))
