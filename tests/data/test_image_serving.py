"""data/serving.py: encoded bytes -> the training pipeline's pixels."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.images import serving
from data.images.image_folder import decode_file
from tests.trainers.test_export import image_files


@pytest.mark.parametrize("channels", [1, 3])
def test_decoded_batch_equals_the_training_decoder(tmp_path, channels):
  files = image_files(str(tmp_path))
  encoded = tf.constant([open(f, "rb").read() for f in files])
  got = serving.decode_images(encoded, (21, 17), channels, 1 / 255)
  want = np.stack([decode_file(f, (21, 17), channels).numpy()
                   for f in files]).astype(np.float32) * (1 / 255)
  assert got.shape == (len(files), 21, 17, channels)
  np.testing.assert_array_equal(got.numpy(), want)


def test_gif_first_frame_is_decoded(tmp_path):
  # The classic 1x1 GIF89a: one white pixel (palette index 0).
  gif = bytes.fromhex("4749463839610100010080000" "0ffffff00000021f9040100"
                      "0000002c00000000010001000002024401003b")
  path = tmp_path / "pixel.gif"
  path.write_bytes(gif)
  got = serving.decode_images(tf.constant([gif]), (2, 2), 3, 1 / 255)
  want = decode_file(str(path), (2, 2), 3).numpy() * np.float32(1 / 255)
  assert got.shape == (1, 2, 2, 3)
  np.testing.assert_array_equal(got.numpy()[0], want)
