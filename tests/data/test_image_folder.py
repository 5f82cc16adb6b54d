"""Tests for data/image_folder.py on tiny generated image trees."""

from __future__ import annotations

import logging
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from data.images import augment
from data.images import image_folder
from data.errors import DataError

RNG = np.random.default_rng(0)


def pixels(height, width, channels) -> np.ndarray:
  return RNG.integers(0, 256, (height, width, channels), dtype=np.uint8)


def write_png(path, image: np.ndarray) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tf.io.write_file(str(path), tf.io.encode_png(image))


def write_bmp(path, image: np.ndarray) -> None:
  """A 24-bit BMP (bottom-up BGR rows padded to 4 bytes), written by hand."""
  height, width, _ = image.shape
  row_bytes = (3 * width + 3) // 4 * 4
  rows = b"".join(
      image[y, :, ::-1].tobytes().ljust(row_bytes, b"\0")
      for y in range(height - 1, -1, -1))
  header = struct.pack("<2sIHHI", b"BM", 54 + len(rows), 0, 0, 54)
  info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(rows),
                     2835, 2835, 0, 0)
  with open(path, "wb") as stream:
    stream.write(header + info + rows)


@pytest.fixture
def tree(tmp_path):
  """Two classes in reverse creation order, mixed formats, 6x6 pixels."""
  root = tmp_path / "train"
  images = {}
  for name in ("b_dogs", "a_cats"):
    for index in range(3):
      image = pixels(6, 6, 3)
      path = root / name / f"{index}.png"
      write_png(path, image)
      images[str(path)] = image
  return root, images


def test_class_names_sorted_and_found_line(tree, capsys):
  root, _ = tree
  folder = image_folder.load_image_folder(str(root), (6, 6))
  assert folder.class_names == ["a_cats", "b_dogs"]
  np.testing.assert_array_equal(folder.class_indices, [0, 0, 0, 1, 1, 1])
  assert "Found 6 images belonging to 2 classes." in capsys.readouterr().out


@pytest.mark.parametrize("label_mode,expected", [
    ("binary", np.array([[0], [0], [0], [1], [1], [1]], np.float32)),
    ("sparse", np.array([0, 0, 0, 1, 1, 1], np.int32)),
    ("categorical", np.array([[1, 0]] * 3 + [[0, 1]] * 3, np.float32)),
], ids=["binary", "sparse", "categorical"])
def test_label_modes(tree, label_mode, expected):
  root, images = tree
  folder = image_folder.load_image_folder(str(root), (6, 6), verbose=False)
  batches = image_folder.folder_batches(folder, 4, label_mode, shuffle=False)
  got_x, got_y = zip(*[(x.numpy(), y.numpy()) for x, y in batches(0)])
  labels = np.concatenate(got_y)
  assert labels.dtype == expected.dtype
  np.testing.assert_array_equal(labels, expected)
  expected_x = np.stack([images[path] for path in folder.paths]) / 255.0
  np.testing.assert_allclose(np.concatenate(got_x), expected_x, rtol=1e-6)


def test_binary_needs_two_classes(tmp_path):
  for name in ("a", "b", "c"):
    write_png(tmp_path / name / "x.png", pixels(2, 2, 3))
  with pytest.raises(DataError, match="exactly 2 class folders, found 3"):
    image_folder.image_folder_bundle(str(tmp_path), image_size=(2, 2))


def test_zero_length_and_corrupt_files_are_skipped_and_logged(tree, caplog):
  root, _ = tree
  (root / "a_cats" / "666.jpg").write_bytes(b"")
  (root / "b_dogs" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
  (root / "b_dogs" / "notes.txt").write_text("ignored: not an image")
  with caplog.at_level(logging.WARNING):
    folder = image_folder.load_image_folder(str(root), (6, 6))
  assert folder.num_images == 6
  reasons = dict((os.path.basename(p), r) for p, r in folder.skipped)
  assert reasons["666.jpg"] == "zero length"
  assert reasons["broken.jpg"].startswith("cannot decode")
  assert len(folder.skipped) == 2
  assert "666.jpg" in caplog.text and "broken.jpg" in caplog.text
  epoch = image_folder.folder_batches(folder, 4)(0)
  assert sum(len(y) for _, y in epoch) == 6


def test_strict_mode_raises_on_bad_files(tree):
  root, _ = tree
  (root / "a_cats" / "666.jpg").write_bytes(b"")
  with pytest.raises(DataError, match=r"666\.jpg \(zero length\)"):
    image_folder.load_image_folder(str(root), (6, 6), strict=True)


def test_rgba_and_grayscale_become_rgb(tmp_path):
  rgba, gray = pixels(4, 4, 4), pixels(4, 4, 1)
  write_png(tmp_path / "a" / "rgba.png", rgba)
  write_png(tmp_path / "b" / "gray.png", gray)
  folder = image_folder.load_image_folder(str(tmp_path), (4, 4), channels=3)
  np.testing.assert_array_equal(folder.images[0].numpy(), rgba[..., :3])
  np.testing.assert_array_equal(folder.images[1].numpy(),
                                np.repeat(gray, 3, axis=-1))
  single = image_folder.load_image_folder(str(tmp_path), (4, 4), channels=1)
  np.testing.assert_array_equal(single.images[1].numpy(), gray)
  with_alpha = image_folder.load_image_folder(str(tmp_path), (4, 4),
                                              channels=4)
  np.testing.assert_array_equal(with_alpha.images[0].numpy(), rgba)
  np.testing.assert_array_equal(with_alpha.images[1].numpy()[..., 3], 255)


def test_decodes_jpeg_bmp_and_gif(tmp_path):
  image = pixels(5, 7, 3)
  tf.io.write_file(str(tmp_path / "a" / "x.jpg"), tf.io.encode_jpeg(image))
  os.makedirs(tmp_path / "b")
  write_bmp(tmp_path / "b" / "x.bmp", image)
  pil = pytest.importorskip("PIL.Image")
  os.makedirs(tmp_path / "c")
  pil.fromarray(image).save(tmp_path / "c" / "x.gif")
  folder = image_folder.load_image_folder(str(tmp_path), (5, 7))
  assert folder.num_images == 3 and not folder.skipped
  np.testing.assert_array_equal(folder.images[1].numpy(), image)  # BMP
  decoded_jpeg = tf.io.decode_jpeg(tf.io.encode_jpeg(image)).numpy()
  np.testing.assert_array_equal(folder.images[0].numpy(), decoded_jpeg)
  # BMP and GIF decoders reject 1 channel; the conversion is done after.
  gray = image_folder.load_image_folder(str(tmp_path), (5, 7), channels=1)
  assert gray.num_images == 3 and not gray.skipped
  pil_gray = np.asarray(pil.fromarray(image).convert("L"))[..., np.newaxis]
  np.testing.assert_allclose(gray.images[1].numpy(), pil_gray, atol=1)


def test_resize_matches_keras_bilinear(tmp_path):
  keras = pytest.importorskip("keras")
  for name in ("a", "b"):
    write_png(tmp_path / name / "x.png", pixels(7, 11, 3))
  folder = image_folder.load_image_folder(str(tmp_path), (4, 5))
  mine = next(iter(image_folder.folder_batches(
      folder, 2, shuffle=False, rescale=None)(0)))[0].numpy()
  reference = keras.utils.image_dataset_from_directory(
      str(tmp_path), image_size=(4, 5), batch_size=2, shuffle=False,
      label_mode=None)
  expected = next(iter(reference)).numpy()
  np.testing.assert_allclose(mine, expected, atol=0.5 + 1e-4)  # uint8 cache


def test_epoch_order_depends_only_on_seed_and_epoch(tree):
  root, _ = tree
  def epoch_images(seed, epoch):
    bundle = image_folder.image_folder_bundle(
        str(root), image_size=(6, 6), batch_size=4, seed=seed)
    return np.concatenate([x.numpy() for x, _ in bundle.train(epoch)])
  first = epoch_images(3, 1)
  np.testing.assert_array_equal(first, epoch_images(3, 1))
  assert not np.array_equal(first, epoch_images(3, 2))
  assert not np.array_equal(first, epoch_images(4, 1))


def test_streamed_and_cached_pipelines_agree(tree):
  root, _ = tree
  settings = augment.Augmentation(rotation_range=20, horizontal_flip=True)
  def epoch(cache_bytes):
    bundle = image_folder.image_folder_bundle(
        str(root), image_size=(6, 6), batch_size=4, seed=1,
        augmentation=settings, cache_bytes=cache_bytes)
    return [(x.numpy(), y.numpy()) for x, y in bundle.train(2)]
  cached, streamed = epoch(1 << 20), epoch(0)
  assert len(cached) == len(streamed) == 2
  for (cx, cy), (sx, sy) in zip(cached, streamed):
    np.testing.assert_allclose(cx, sx, atol=1e-6)
    np.testing.assert_array_equal(cy, sy)


def test_bundle_with_validation_split_augments_training_only(tree, capsys):
  root, images = tree
  settings = augment.Augmentation(width_shift_range=0.5)
  bundle = image_folder.image_folder_bundle(
      str(root), image_size=(6, 6), batch_size=2, validation_split=0.34,
      augmentation=settings, label_mode="sparse", seed=0)
  out = capsys.readouterr().out
  assert "Found 4 images belonging to 2 classes." in out
  assert "Found 2 images belonging to 2 classes." in out
  assert bundle.steps_per_epoch == 2
  assert bundle.info.class_names == ["a_cats", "b_dogs"]
  assert bundle.info.label_mode == "sparse"
  assert bundle.info.image_size == (6, 6)
  x, y = next(iter(bundle.validation))
  expected = [images[str(root / name / "0.png")] for name in ("a_cats",
                                                              "b_dogs")]
  np.testing.assert_array_equal(y.numpy(), [0, 1])
  np.testing.assert_allclose(x.numpy(), np.stack(expected) / 255.0, rtol=1e-6)
  train_x = np.concatenate([x.numpy() for x, _ in bundle.train(0)])
  train_files = [images[str(root / c / f"{i}.png")]
                 for c in ("a_cats", "b_dogs") for i in (1, 2)]
  assert not any(np.allclose(t, f / 255.0) for t in train_x
                 for f in train_files)


def test_validation_dir_must_have_same_classes(tree, tmp_path):
  root, _ = tree
  write_png(tmp_path / "val" / "a_cats" / "x.png", pixels(6, 6, 3))
  write_png(tmp_path / "val" / "c_birds" / "x.png", pixels(6, 6, 3))
  with pytest.raises(DataError, match="class sub-folders must match"):
    image_folder.image_folder_bundle(
        str(root), validation_dir=str(tmp_path / "val"), image_size=(6, 6))


@pytest.mark.parametrize("make,pattern", [
    (lambda root: None, "does not exist"),
    (lambda root: os.makedirs(root), "no class sub-folders"),
    (lambda root: os.makedirs(os.path.join(root, "a")), "no usable images"),
], ids=["missing", "no_classes", "no_images"])
def test_bad_folders_raise(tmp_path, make, pattern):
  root = str(tmp_path / "root")
  make(root)
  with pytest.raises(DataError, match=pattern):
    image_folder.load_image_folder(root, (4, 4))
