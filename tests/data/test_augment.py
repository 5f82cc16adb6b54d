"""Tests for data/augment.py: each ImageDataGenerator knob against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.images import augment

SIZE = 6


def ramp(height=SIZE, width=SIZE, channels=1) -> np.ndarray:
  """f(x, y) = 10 y + x: bilinear sampling of it is exact inside the image."""
  y, x = np.mgrid[0:height, 0:width].astype(np.float32)
  image = 10 * y + x
  return np.repeat(image[np.newaxis, ..., np.newaxis], channels, axis=-1)


def transform(images, fill_mode="nearest", cval=0.0, **values) -> np.ndarray:
  """Applies explicit (not random) parameters to a batch."""
  params = augment.TransformParams.identity(images.shape[0])
  for name, value in values.items():
    setattr(params, name, tf.fill([images.shape[0]], float(value)))
  matrices = augment.transform_matrices(params, images.shape[1],
                                        images.shape[2])
  return augment.apply_transforms(images, matrices, fill_mode, cval).numpy()


def test_flip_mirrors_left_right():
  image = ramp()
  np.testing.assert_allclose(transform(image, flip=1), image[:, :, ::-1],
                             atol=1e-4)


def test_rotation_by_90_degrees_equals_rot90():
  image = ramp()
  expected = np.rot90(image[0, ..., 0])[np.newaxis, ..., np.newaxis]
  np.testing.assert_allclose(transform(image, rotation=90), expected,
                             atol=1e-3)


def test_shift_moves_content_by_pixels_and_nearest_copies_edge():
  image = ramp()
  shifted = transform(image, shift_x=2, shift_y=1)
  np.testing.assert_allclose(shifted[:, 1:, 2:], image[:, :-1, :-2],
                             atol=1e-4)
  # Nearest fill: the uncovered left columns repeat the edge column.
  np.testing.assert_allclose(shifted[:, 1:, 0], image[:, :-1, 0], atol=1e-4)
  np.testing.assert_allclose(shifted[:, 1:, 1], image[:, :-1, 0], atol=1e-4)
  np.testing.assert_allclose(shifted[:, 0, 2:], image[:, 0, :-2], atol=1e-4)


def test_constant_fill_uses_cval():
  shifted = transform(ramp(), fill_mode="constant", cval=-7.0, shift_x=2)
  np.testing.assert_allclose(shifted[:, :, :2], -7.0)


@pytest.mark.parametrize("fill_mode,expected_columns", [
    ("reflect", [1, 0]),
    ("wrap", [SIZE - 2, SIZE - 1]),
], ids=["reflect", "wrap"])
def test_reflect_and_wrap_fill(fill_mode, expected_columns):
  image = ramp()
  shifted = transform(image, fill_mode=fill_mode, shift_x=2)
  np.testing.assert_allclose(shifted[:, :, :2],
                             image[:, :, expected_columns], atol=1e-4)


def test_zoom_below_one_magnifies_about_the_centre():
  image = ramp()
  zoomed = transform(image, zoom_x=0.5, zoom_y=0.5)
  center = (SIZE - 1) / 2
  coords = 0.5 * (np.arange(SIZE) - center) + center
  expected = 10 * coords[:, np.newaxis] + coords[np.newaxis, :]
  np.testing.assert_allclose(zoomed[0, ..., 0], expected, atol=1e-3)


def test_zoom_above_one_shrinks_content():
  image = ramp()
  zoomed = transform(image, fill_mode="constant", cval=-1.0, zoom_x=2.0,
                     zoom_y=1.0)
  # Column x samples 2 (x - 2.5) + 2.5: only the middle two stay inside.
  y = np.arange(SIZE)[:, np.newaxis]
  np.testing.assert_allclose(zoomed[0, :, 2:4, 0], 10 * y + [1.5, 3.5],
                             atol=1e-3)
  np.testing.assert_allclose(zoomed[0, :, [0, 5], 0], -1.0)


def test_shear_follows_keras_matrix():
  image = ramp(8, 8)
  sheared = transform(image, fill_mode="constant", cval=-1.0, shear=10.0)
  angle = np.deg2rad(10.0)
  center = 3.5
  x = np.arange(8) - center
  y = np.arange(8)[:, np.newaxis] - center
  x_in = np.cos(angle) * x + center
  y_in = y - np.sin(angle) * x + center
  expected = 10 * y_in + x_in
  inside = (y_in >= 0) & (y_in <= 7) & (x_in >= 0) & (x_in <= 7)
  np.testing.assert_allclose(sheared[0, ..., 0][inside], expected[inside],
                             atol=1e-3)


def test_composed_rotation_and_flip_is_one_transform():
  image = ramp()
  expected = np.fliplr(np.rot90(image[0, ..., 0]))
  np.testing.assert_allclose(transform(image, rotation=90, flip=1)[0, ..., 0],
                             expected, atol=1e-3)


def test_random_parameters_stay_in_range():
  settings = augment.Augmentation(rotation_range=30, width_shift_range=0.25,
                                  height_shift_range=3, shear_range=5,
                                  zoom_range=(0.8, 1.1))
  params = augment.sample_params(settings, 256, 12, 8,
                                 augment.batch_seed(3, 0, 0))
  for name, low, high in [("rotation", -30, 30), ("shift_x", -2, 2),
                          ("shift_y", -3, 3), ("shear", -5, 5),
                          ("zoom_x", 0.8, 1.1), ("zoom_y", 0.8, 1.1)]:
    values = getattr(params, name).numpy()
    assert low <= values.min() and values.max() <= high, name
    assert values.std() > 0, name
  assert not np.any(params.flip.numpy())


def test_horizontal_flip_is_drawn_about_half_the_time():
  settings = augment.Augmentation(horizontal_flip=True)
  flips = augment.sample_params(settings, 400, 4, 4,
                                augment.batch_seed(0, 0, 0)).flip.numpy()
  assert set(np.unique(flips)) == {0.0, 1.0}
  assert 150 < flips.sum() < 250


def test_same_seed_same_images_other_seed_differs():
  settings = augment.Augmentation(rotation_range=40, width_shift_range=0.2,
                                  zoom_range=0.2, horizontal_flip=True)
  images = tf.constant(ramp(channels=3).repeat(4, axis=0))
  first = augment.augment_batch(images, settings, augment.batch_seed(1, 2, 3))
  again = augment.augment_batch(images, settings, augment.batch_seed(1, 2, 3))
  np.testing.assert_array_equal(first.numpy(), again.numpy())
  for other in [(2, 2, 3), (1, 3, 3), (1, 2, 4)]:
    changed = augment.augment_batch(images, settings,
                                    augment.batch_seed(*other))
    assert not np.allclose(first.numpy(), changed.numpy()), other


def test_identity_settings_leave_images_unchanged():
  images = ramp(channels=3)
  out = augment.augment_batch(images, augment.Augmentation(),
                              augment.batch_seed(0, 0, 0))
  np.testing.assert_array_equal(out.numpy(), images)


@pytest.mark.parametrize("kwargs", [
    {"rotation_range": -1}, {"fill_mode": "mirror"}, {"zoom_range": (1.2, 0.9)},
    {"zoom_range": 1.0},
], ids=["negative_range", "unknown_fill", "inverted_zoom", "zero_lower_zoom"])
def test_bad_settings_are_rejected(kwargs):
  with pytest.raises(ValueError, match="Augmentation"):
    augment.Augmentation(**kwargs)


def test_augment_grid_layout():
  images = ramp(4, 5, 3).repeat(2, axis=0) / 100.0
  settings = augment.Augmentation(rotation_range=30)
  grid = augment.augment_grid(images, 3, settings, seed=1).numpy()
  assert grid.shape == (1, 2 * 4, 4 * 5, 3)
  np.testing.assert_allclose(grid[0, :4, :5], images[0])
  np.testing.assert_allclose(grid[0, 4:, :5], images[1])
  assert not np.allclose(grid[0, :4, 5:10], images[0])


def test_array_batches_order_depends_only_on_seed_and_epoch():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * 20
  labels = np.arange(10, dtype=np.int32)
  make = lambda seed: augment.array_batches(images, labels, 4, seed=seed)
  epoch_labels = lambda batches, epoch: np.concatenate(
      [y.numpy() for _, y in batches(epoch)])
  first = epoch_labels(make(5), 1)
  np.testing.assert_array_equal(first, epoch_labels(make(5), 1))
  np.testing.assert_array_equal(first,
                                np.random.default_rng([5, 1]).permutation(10))
  assert not np.array_equal(first, epoch_labels(make(5), 2))
  assert not np.array_equal(first, epoch_labels(make(6), 1))
  for x, y in make(5)(1):
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], y.numpy() * 20 / 255,
                               rtol=1e-6)


def test_array_batches_without_augmentation_keeps_order_and_scales():
  images = np.random.default_rng(0).integers(0, 256, (5, 3, 3, 1), np.uint8)
  labels = np.arange(5)
  batches = augment.array_batches(images, labels, 2, shuffle=False)(0)
  got = np.concatenate([x.numpy() for x, _ in batches])
  assert [len(y) for _, y in batches] == [2, 2, 1]
  np.testing.assert_allclose(got, images / 255.0, rtol=1e-6)


def test_array_batches_augments_each_epoch_reproducibly():
  images = ramp(channels=1).repeat(3, axis=0)
  settings = augment.Augmentation(width_shift_range=0.3)
  batches = augment.array_batches(images, np.zeros(3), 3, seed=2,
                                  augmentation=settings, rescale=None)
  first = next(iter(batches(0)))[0].numpy()
  np.testing.assert_array_equal(first, next(iter(batches(0)))[0].numpy())
  assert not np.allclose(first, next(iter(batches(1)))[0].numpy())
  assert not np.allclose(first, images)
