"""On-the-fly image augmentation with the course's ImageDataGenerator knobs.

Rotation, shifts, shear, zoom and the horizontal flip are composed into ONE
projective transform per image (output pixel -> input pixel, about the image
centre, in Keras's order rotation . shift . shear . zoom, the flip applied
last) and the whole batch is resampled by a single
`tf.raw_ops.ImageProjectiveTransformV3` call with bilinear interpolation, as
Keras's `apply_affine_transform` uses order-1 interpolation.

Randomness is stateless: each batch's parameters come from a key derived from
(seed, epoch, batch index), so the same seed gives the same augmented epoch,
whatever ran before. Augmentation belongs to training batches only; the
builders in `data/` never apply it to validation data.

Parameter semantics (per image, drawn uniformly unless noted):
  rotation_range: degrees; angle in [-r, r].
  width_shift_range / height_shift_range: a fraction of the width / height
    when < 1, else pixels; shift in [-r, r].
  shear_range: shear angle in degrees, in [-r, r].
  zoom_range: z -> [1 - z, 1 + z], or an explicit (lower, upper) pair; the
    x and y factors are drawn independently. As in Keras a factor > 1 shows
    more of the image (content shrinks), < 1 magnifies.
  horizontal_flip: mirror left-right with probability 1/2.
  fill_mode: "nearest", "constant" (uses cval), "reflect" or "wrap".
  cval: fill value in the units of the images being transformed (pixel
    values before rescaling in the dataset builders, like Keras).

Example:
  augmentation = Augmentation(rotation_range=40, width_shift_range=0.2,
                              horizontal_flip=True, fill_mode="nearest")
  batches = array_batches(images, labels, 32, seed=1,
                          augmentation=augmentation)
  for x, y in batches(epoch):
    ...
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
import tensorflow as tf

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
_SUBSEEDS = 7


@dataclasses.dataclass(frozen=True)
class Augmentation:
  """ImageDataGenerator-style augmentation settings (see module docstring).

  Raises:
    ValueError: a negative range, an unknown fill_mode or a bad zoom range.
  """

  rotation_range: float = 0.0
  width_shift_range: float = 0.0
  height_shift_range: float = 0.0
  shear_range: float = 0.0
  zoom_range: float | tuple[float, float] = 0.0
  horizontal_flip: bool = False
  fill_mode: str = "nearest"
  cval: float = 0.0

  def __post_init__(self):
    for name in ("rotation_range", "width_shift_range", "height_shift_range",
                 "shear_range"):
      if getattr(self, name) < 0:
        raise ValueError(f"Augmentation: {name} must be >= 0, got "
                         f"{getattr(self, name)}")
    if self.fill_mode not in FILL_MODES:
      raise ValueError(f"Augmentation: fill_mode must be one of {FILL_MODES},"
                       f" got {self.fill_mode!r}")
    lower, upper = self.zoom_bounds
    if not 0 < lower <= upper:
      raise ValueError(f"Augmentation: zoom_range must be a float in [0, 1) "
                       f"or a pair 0 < lower <= upper, got {self.zoom_range}")

  @property
  def zoom_bounds(self) -> tuple[float, float]:
    """The (lower, upper) zoom factors."""
    if isinstance(self.zoom_range, (tuple, list)):
      lower, upper = self.zoom_range
      return float(lower), float(upper)
    return 1.0 - self.zoom_range, 1.0 + self.zoom_range

  @property
  def is_identity(self) -> bool:
    """True when no parameter changes an image."""
    return (self.rotation_range == 0 and self.width_shift_range == 0
            and self.height_shift_range == 0 and self.shear_range == 0
            and self.zoom_bounds == (1.0, 1.0) and not self.horizontal_flip)


@dataclasses.dataclass
class TransformParams:
  """Per-image transform parameters, each a float32 tensor of shape [B].

  Attributes:
    rotation: degrees, positive turns the content counter-clockwise.
    shift_x: pixels the content moves right.
    shift_y: pixels the content moves down.
    shear: degrees (Keras's shear matrix).
    zoom_x: horizontal sampling factor (> 1 shrinks the content).
    zoom_y: vertical sampling factor.
    flip: 1.0 to mirror left-right, 0.0 not to.
  """

  rotation: tf.Tensor
  shift_x: tf.Tensor
  shift_y: tf.Tensor
  shear: tf.Tensor
  zoom_x: tf.Tensor
  zoom_y: tf.Tensor
  flip: tf.Tensor

  @classmethod
  def identity(cls, batch_size) -> "TransformParams":
    """Parameters that leave `batch_size` images unchanged."""
    zeros = tf.zeros([batch_size], tf.float32)
    ones = tf.ones([batch_size], tf.float32)
    return cls(zeros, zeros, zeros, zeros, ones, ones, zeros)


def batch_seed(seed, epoch, batch_index) -> tf.Tensor:
  """The stateless RNG key of one batch: a function of its three arguments.

  Args:
    seed: the run's seed (int or int tensor).
    epoch: epoch number.
    batch_index: index of the batch within the epoch.

  Returns:
    An int64 tensor of shape [2] for `tf.random.stateless_*` ops.
  """
  key = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
  return tf.random.experimental.stateless_fold_in(
      key, tf.cast(batch_index, tf.int64))


def _uniform(shape, seed, bound) -> tf.Tensor:
  return tf.random.stateless_uniform(shape, seed, -bound, bound)


def _shift_bound(value: float, size) -> tf.Tensor:
  """A shift range in pixels: fractions of `size` below 1, else pixels."""
  return value * tf.cast(size, tf.float32) if value < 1 else tf.constant(
      float(value))


def sample_params(augmentation: Augmentation, batch_size, height, width,
                  seed) -> TransformParams:
  """Draws one set of transform parameters per image.

  Args:
    augmentation: the settings.
    batch_size: number of images (int or scalar tensor).
    height: image height in pixels.
    width: image width in pixels.
    seed: int64 [2] key, e.g. from `batch_seed`.

  Returns:
    `TransformParams` with [batch_size] tensors.
  """
  params = TransformParams.identity(batch_size)
  seeds = tf.random.experimental.stateless_split(seed, _SUBSEEDS)
  shape = [batch_size]
  if augmentation.rotation_range:
    params.rotation = _uniform(shape, seeds[0], augmentation.rotation_range)
  if augmentation.width_shift_range:
    params.shift_x = _uniform(
        shape, seeds[1], _shift_bound(augmentation.width_shift_range, width))
  if augmentation.height_shift_range:
    params.shift_y = _uniform(
        shape, seeds[2], _shift_bound(augmentation.height_shift_range, height))
  if augmentation.shear_range:
    params.shear = _uniform(shape, seeds[3], augmentation.shear_range)
  lower, upper = augmentation.zoom_bounds
  if (lower, upper) != (1.0, 1.0):
    params.zoom_x = tf.random.stateless_uniform(shape, seeds[4], lower, upper)
    params.zoom_y = tf.random.stateless_uniform(shape, seeds[5], lower, upper)
  if augmentation.horizontal_flip:
    params.flip = tf.cast(
        tf.random.stateless_uniform(shape, seeds[6]) < 0.5, tf.float32)
  return params


def _matrix(*entries) -> tf.Tensor:
  """A [B, 3, 3] stack from nine [B] (or broadcastable scalar) entries."""
  batch = tf.shape(entries[0])
  full = [tf.broadcast_to(tf.cast(entry, tf.float32), batch)
          for entry in entries]
  return tf.reshape(tf.stack(full, axis=-1), [-1, 3, 3])


def transform_matrices(params: TransformParams, height, width) -> tf.Tensor:
  """Composes each image's parameters into one projective transform.

  The matrix maps an output pixel (x = column, y = row) to the input point it
  samples, as `ImageProjectiveTransformV3` expects.

  Args:
    params: per-image parameters.
    height: image height in pixels.
    width: image width in pixels.

  Returns:
    float32 [B, 8] rows (a0, a1, a2, b0, b1, b2, c0, c1).
  """
  zero = tf.zeros_like(params.rotation)
  one = tf.ones_like(params.rotation)
  center_x = (tf.cast(width, tf.float32) - 1.0) / 2.0
  center_y = (tf.cast(height, tf.float32) - 1.0) / 2.0
  theta = params.rotation * (math.pi / 180.0)
  shear = params.shear * (math.pi / 180.0)
  cos, sin = tf.cos(theta), tf.sin(theta)
  from_center = _matrix(one, zero, center_x, zero, one, center_y,
                        zero, zero, one)
  rotate = _matrix(cos, -sin, zero, sin, cos, zero, zero, zero, one)
  shift = _matrix(one, zero, -params.shift_x, zero, one, -params.shift_y,
                  zero, zero, one)
  shear_matrix = _matrix(tf.cos(shear), zero, zero, -tf.sin(shear), one, zero,
                         zero, zero, one)
  zoom = _matrix(params.zoom_x, zero, zero, zero, params.zoom_y, zero,
                 zero, zero, one)
  flip = _matrix(one - 2.0 * params.flip, zero, zero, zero, one, zero,
                 zero, zero, one)
  to_center = _matrix(one, zero, -center_x, zero, one, -center_y,
                      zero, zero, one)
  combined = from_center
  for step in (rotate, shift, shear_matrix, zoom, flip, to_center):
    combined = tf.matmul(combined, step)
  return tf.reshape(combined, [-1, 9])[:, :8]


def apply_transforms(images: tf.Tensor, transforms: tf.Tensor,
                     fill_mode: str = "nearest", cval: float = 0.0
                     ) -> tf.Tensor:
  """Resamples a batch with one projective transform per image.

  Args:
    images: [B, H, W, C] tensor (cast to float32).
    transforms: [B, 8] from `transform_matrices`.
    fill_mode: one of `FILL_MODES`.
    cval: the value outside the image for fill_mode="constant".

  Returns:
    float32 [B, H, W, C].
  """
  images = tf.cast(images, tf.float32)
  output = tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=tf.cast(transforms, tf.float32),
      output_shape=tf.shape(images)[1:3], fill_value=tf.cast(cval, tf.float32),
      interpolation="BILINEAR", fill_mode=fill_mode.upper())
  # The op's output shape is dynamic; it always equals the input's, and
  # models are built from the batch spec, so keep the static shape.
  output.set_shape(images.shape)
  return output


def augment_batch(images: tf.Tensor, augmentation: Augmentation,
                  seed) -> tf.Tensor:
  """Applies random augmentation to a batch in one transform call.

  Args:
    images: [B, H, W, C] images.
    augmentation: the settings.
    seed: int64 [2] key, e.g. `batch_seed(seed, epoch, batch_index)`.

  Returns:
    float32 [B, H, W, C].
  """
  images = tf.cast(images, tf.float32)
  if augmentation.is_identity:
    return images
  shape = tf.shape(images)
  params = sample_params(augmentation, shape[0], shape[1], shape[2], seed)
  transforms = transform_matrices(params, shape[1], shape[2])
  return apply_transforms(images, transforms, augmentation.fill_mode,
                          augmentation.cval)


def augment_grid(images, n: int, augmentation: Augmentation, seed: int = 0
                 ) -> tf.Tensor:
  """A grid image: each input image followed by `n` augmented versions.

  Args:
    images: [B, H, W, C] (or one [H, W, C]) images, e.g. scaled to [0, 1].
    n: augmented copies per image.
    augmentation: the settings.
    seed: seed of the draws.

  Returns:
    float32 [1, B * H, (n + 1) * W, C], ready for `tf.summary.image`.
  """
  images = tf.cast(images, tf.float32)
  if images.shape.rank == 3:
    images = images[tf.newaxis]
  count, height, width, channels = tf.unstack(tf.shape(images))
  copies = tf.repeat(images, n, axis=0)
  augmented = augment_batch(copies, augmentation,
                            batch_seed(seed, 0, 0))
  augmented = tf.reshape(augmented, [count, n, height, width, channels])
  rows = tf.concat([images[:, tf.newaxis], augmented], axis=1)
  rows = tf.transpose(rows, [0, 2, 1, 3, 4])
  return tf.reshape(rows, [1, count * height, (n + 1) * width, channels])


def epoch_order(num_examples: int, seed: int, epoch: int) -> np.ndarray:
  """A permutation of range(num_examples) that depends only on (seed, epoch).

  Raises:
    ValueError: a negative seed or epoch.
  """
  if seed < 0 or epoch < 0:
    raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, "
                     f"epoch={epoch}")
  return np.random.default_rng([seed, epoch]).permutation(num_examples)


def array_batches(images, labels, batch_size: int, *, seed: int = 0,
                  augmentation: Augmentation | None = None,
                  shuffle: bool = True, rescale: float | None = 1.0 / 255
                  ) -> Callable[[int], tf.data.Dataset]:
  """Batches of in-memory images, shuffled and augmented per epoch.

  The arrays are held once as CPU tensors; each epoch gathers whole batches
  by index (order from `epoch_order`), then augments and rescales them.

  Args:
    images: [N, H, W, C] array (e.g. uint8 pixels).
    labels: [N, ...] array, passed through unchanged.
    batch_size: examples per batch (the last batch may be smaller).
    seed: seed of the order and of the augmentation.
    augmentation: settings, or None for no augmentation (validation data).
    shuffle: False keeps the array order (validation data).
    rescale: factor applied after augmentation, or None.

  Returns:
    `epoch -> tf.data.Dataset` of (float32 images, labels) batches.

  Raises:
    ValueError: images not 4-D, or image and label counts differ.
  """
  with tf.init_scope(), tf.device("/CPU:0"):
    images = tf.convert_to_tensor(images)
    labels = tf.convert_to_tensor(labels)
  if images.shape.rank != 4:
    raise ValueError(f"array_batches: images must be [N, H, W, C], got shape "
                     f"{images.shape}; add a channel axis with [..., None]")
  if images.shape[0] != labels.shape[0]:
    raise ValueError(f"array_batches: {images.shape[0]} images but "
                     f"{labels.shape[0]} labels")
  count = int(images.shape[0])

  def make_batch(epoch, batch_index, indices):
    batch = tf.cast(tf.gather(images, indices), tf.float32)
    if augmentation is not None:
      batch = augment_batch(batch, augmentation,
                            batch_seed(seed, epoch, batch_index))
    if rescale is not None:
      batch = batch * rescale
    return batch, tf.gather(labels, indices)

  def for_epoch(epoch: int) -> tf.data.Dataset:
    order = epoch_order(count, seed, epoch) if shuffle else np.arange(count)
    dataset = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    dataset = dataset.enumerate().map(
        lambda index, indices: make_batch(epoch, index, indices),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)

  return for_epoch
