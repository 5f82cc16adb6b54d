"""Directory-labelled images, like Keras's `flow_from_directory`.

`root/<class>/.../*.png|jpg|jpeg|gif|bmp`: one sub-folder per class, class
names sorted, label = index of the class in that order. Every file is
decoded once up front (TensorFlow's decoders, in parallel): zero-length files
and files that fail to decode are skipped, counted and named in the log, so an
epoch never crashes on them; `strict=True` turns them into a DataError.
Images are decoded to `channels` (RGBA loses alpha and grayscale is repeated
for 3 channels), resized bilinearly like Keras (no antialiasing) and rounded
to uint8. When the decoded images fit in `cache_bytes` they are kept in
memory and each epoch gathers whole batches from them; otherwise each epoch
decodes the files again in parallel.

Batches: float32 images scaled by `rescale` (1/255 by default) and labels by
`label_mode`: "binary" float32 [B, 1], "sparse" int32 [B], "categorical"
float32 one-hot [B, K]. The order of an epoch depends only on (seed, epoch);
augmentation (training only) is seeded by (seed, epoch, batch index).

Example:
  bundle = image_folder_bundle("/tmp/cats_and_dogs/train",
                               validation_dir="/tmp/cats_and_dogs/validation",
                               image_size=(150, 150), batch_size=20,
                               augmentation=Augmentation(rotation_range=40))
  for images, labels in bundle.train(epoch=0):
    ...
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Callable, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from data.images import augment
from data.bundle import DataBundle
from data.images.info import ImageInfo
from data.errors import DataError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
LABEL_MODES = ("binary", "sparse", "categorical")
DEFAULT_CACHE_BYTES = 1 << 30
_IGNORED_DIRS = ("__MACOSX",)


@dataclasses.dataclass
class ImageFolder:
  """The usable images of a class-per-folder directory.

  Attributes:
    directory: the root folder.
    class_names: sorted class folder names; a label is an index into it.
    paths: usable image files, by class, then by path.
    class_indices: int32 [N] class index of each path.
    skipped: (path, reason) of files that cannot be used.
    image_size: (height, width) of the decoded images.
    channels: channels of the decoded images.
    images: uint8 [N, H, W, C] CPU tensor when cached in memory, else None.
  """

  directory: str
  class_names: list[str]
  paths: list[str]
  class_indices: np.ndarray
  skipped: list[tuple[str, str]]
  image_size: tuple[int, int]
  channels: int
  images: tf.Tensor | None = None

  @property
  def num_images(self) -> int:
    """Number of usable images."""
    return len(self.paths)

  def found_line(self) -> str:
    """The course's "Found N images belonging to K classes." line."""
    return (f"Found {self.num_images} images belonging to "
            f"{len(self.class_names)} classes.")

  def subset(self, indices: Sequence[int]) -> "ImageFolder":
    """The images at `indices` (same classes; `skipped` is kept)."""
    indices = np.asarray(indices, dtype=np.int64)
    images = None
    if self.images is not None:
      with tf.device("/CPU:0"):
        images = tf.gather(self.images, indices)
    return dataclasses.replace(
        self, paths=[self.paths[i] for i in indices],
        class_indices=self.class_indices[indices], images=images)


def list_image_files(directory: str, formats: Sequence[str] = IMAGE_EXTENSIONS
                     ) -> tuple[list[str], list[str], np.ndarray]:
  """Lists the images of a class-per-folder directory without opening them.

  Hidden files and folders and `__MACOSX` (zip metadata) are ignored, as are
  files whose extension is not in `formats`.

  Args:
    directory: root folder with one sub-folder per class.
    formats: accepted file extensions (lower case, with the dot).

  Returns:
    (class_names, paths, class_indices).

  Raises:
    DataError: the folder is missing or has no class sub-folders.
  """
  if not os.path.isdir(directory):
    raise DataError(f"image folder {directory} does not exist; expected a "
                    f"folder with one sub-folder per class")
  class_names = sorted(
      name for name in os.listdir(directory)
      if os.path.isdir(os.path.join(directory, name))
      and not name.startswith(".") and name not in _IGNORED_DIRS)
  if not class_names:
    raise DataError(f"image folder {directory} has no class sub-folders; "
                    f"expected {directory}/<class_name>/<image files>")
  paths, class_indices = [], []
  for index, name in enumerate(class_names):
    for path in image_files_under(os.path.join(directory, name), formats):
      paths.append(path)
      class_indices.append(index)
  return class_names, paths, np.asarray(class_indices, dtype=np.int32)


def image_files_under(folder: str, formats: Sequence[str] = IMAGE_EXTENSIONS
                      ) -> list[str]:
  """Sorted image files under `folder` (any depth), hidden files and
  folders and `__MACOSX` ignored."""
  found = []
  for root, dirs, files in os.walk(folder):
    dirs[:] = [d for d in dirs
               if not d.startswith(".") and d not in _IGNORED_DIRS]
    found.extend(os.path.join(root, name) for name in files
                 if not name.startswith(".")
                 and os.path.splitext(name)[1].lower() in formats)
  return sorted(found)


def to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
  """Converts a uint8 gray, gray+alpha, RGB or RGBA image to `channels`.

  As PIL's convert does: alpha is dropped, gray is repeated to make RGB, RGB
  becomes gray with ITU-R 601 luma weights, and an added alpha is opaque.
  The decoders cannot do this themselves: BMP and GIF accept only some
  channel counts.

  Args:
    image: uint8 [H, W, 1 to 4].
    channels: 1, 3 or 4.

  Returns:
    uint8 [H, W, channels].
  """
  native = tf.shape(image)[-1]
  has_alpha = tf.equal(native % 2, 0)
  color = image[..., :native - tf.cast(has_alpha, tf.int32)]
  rgb = tf.cond(tf.equal(tf.shape(color)[-1], 1),
                lambda: tf.repeat(color, 3, axis=-1), lambda: color)
  rgb = tf.ensure_shape(rgb, [None, None, 3])
  if channels == 3:
    return rgb
  if channels == 1:
    return tf.image.rgb_to_grayscale(rgb)
  opaque = tf.fill(tf.concat([tf.shape(image)[:2], [1]], 0),
                   tf.constant(255, tf.uint8))
  alpha = tf.cond(has_alpha, lambda: image[..., -1:], lambda: opaque)
  return tf.ensure_shape(tf.concat([rgb, alpha], axis=-1), [None, None, 4])


def _decode(path) -> tf.Tensor:
  return tf.io.decode_image(tf.io.read_file(path), channels=0,
                            expand_animations=False)


def decode_file(path, image_size: Sequence[int], channels: int) -> tf.Tensor:
  """Reads, decodes (PNG/JPEG/GIF/BMP) and bilinearly resizes one image.

  Args:
    path: string tensor or str.
    image_size: (height, width).
    channels: 1, 3 or 4 (see `to_channels`).

  Returns:
    uint8 [height, width, channels].
  """
  image = to_channels(_decode(path), channels)
  resized = tf.image.resize(image, image_size, method="bilinear")
  return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _decode_error(path: str, channels: int) -> str:
  """Decodes one file eagerly to recover the reason it failed."""
  try:
    to_channels(_decode(path), channels)
  except (tf.errors.OpError, ValueError) as error:
    message = getattr(error, "message", str(error))
    return "cannot decode: " + message.strip().splitlines()[0][:120]
  return "cannot decode"


def _decode_all(paths: Sequence[str], image_size: Sequence[int],
                channels: int, keep: bool
                ) -> tuple[np.ndarray | None, np.ndarray]:
  """Decodes every file once, in parallel; returns (images, ok mask)."""
  count = len(paths)
  ok = np.zeros(count, dtype=bool)
  images = (np.empty((count, *image_size, channels), dtype=np.uint8)
            if keep else None)
  if not count:
    return images, ok
  dataset = tf.data.Dataset.from_tensor_slices(
      (np.arange(count), np.asarray(paths, dtype=object)))
  dataset = dataset.map(
      lambda index, path: (index, decode_file(path, image_size, channels)),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  for indices, batch in dataset.ignore_errors().batch(64):
    indices = indices.numpy()
    ok[indices] = True
    if keep:
      images[indices] = batch.numpy()
  return images, ok


def load_image_folder(directory: str, image_size: Sequence[int] = (256, 256),
                      channels: int = 3, *, strict: bool = False,
                      cache_bytes: int = DEFAULT_CACHE_BYTES,
                      verbose: bool = True) -> ImageFolder:
  """Lists, validates and (when it fits) decodes a class-per-folder tree.

  Args:
    directory: root folder with one sub-folder per class.
    image_size: (height, width) to resize to.
    channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
    strict: raise instead of skipping unusable files.
    cache_bytes: keep the decoded uint8 images in memory when they need at
      most this many bytes (0: never; each epoch then decodes the files).
    verbose: print "Found N images belonging to K classes." and a line about
      skipped files.

  Returns:
    An `ImageFolder`.

  Raises:
    DataError: a missing folder, no usable images, or (strict) a bad file.
    ValueError: bad `image_size` or `channels`.
  """
  image_size = _checked_size(image_size)
  if channels not in (1, 3, 4):
    raise ValueError(f"channels must be 1, 3 or 4, got {channels}")
  class_names, paths, class_indices = list_image_files(directory)
  skipped = [(path, "zero length") for path in paths
             if os.path.getsize(path) == 0]
  empty = {path for path, _ in skipped}
  candidates = [i for i, path in enumerate(paths) if path not in empty]
  bytes_needed = len(candidates) * image_size[0] * image_size[1] * channels
  keep = bytes_needed <= cache_bytes
  images, ok = _decode_all([paths[i] for i in candidates], image_size,
                           channels, keep)
  for position in np.flatnonzero(~ok):
    path = paths[candidates[position]]
    skipped.append((path, _decode_error(path, channels)))
  usable = [candidates[p] for p in np.flatnonzero(ok)]
  folder = ImageFolder(
      directory=directory, class_names=class_names,
      paths=[paths[i] for i in usable], class_indices=class_indices[usable],
      skipped=sorted(skipped), image_size=image_size, channels=channels)
  if keep:
    with tf.init_scope(), tf.device("/CPU:0"):
      folder.images = tf.constant(images[ok] if not ok.all() else images)
  _report_skipped(folder, strict, verbose)
  if not folder.num_images:
    raise DataError(f"image folder {directory} has no usable images with "
                    f"extensions {', '.join(IMAGE_EXTENSIONS)}")
  if verbose:
    print(folder.found_line(), flush=True)
  return folder


def _checked_size(image_size: Sequence[int]) -> tuple[int, int]:
  size = tuple(int(v) for v in image_size)
  if len(size) != 2 or min(size) < 1:
    raise ValueError(f"image_size must be (height, width) with positive "
                     f"values, got {image_size}")
  return size


def _report_skipped(folder: ImageFolder, strict: bool, verbose: bool) -> None:
  if not folder.skipped:
    return
  names = ", ".join(f"{os.path.relpath(path, folder.directory)} ({reason})"
                    for path, reason in folder.skipped)
  if strict:
    raise DataError(f"image folder {folder.directory}: "
                    f"{len(folder.skipped)} files cannot be used: {names}; "
                    f"remove them or pass strict=False to skip them")
  for path, reason in folder.skipped:
    logging.warning("skipping image %s: %s", path, reason)
  if verbose:
    print(f"Skipped {len(folder.skipped)} unusable files in "
          f"{folder.directory} (named in the log).", flush=True)


def encode_labels(class_indices: np.ndarray, num_classes: int,
                  label_mode: str) -> np.ndarray:
  """Class indices as "binary" float32 [N, 1], "sparse" int32 [N] or
  "categorical" float32 one-hot [N, K].

  Raises:
    DataError: "binary" with a number of classes other than 2.
    ValueError: an unknown label_mode.
  """
  if label_mode not in LABEL_MODES:
    raise ValueError(f"label_mode must be one of {LABEL_MODES}, got "
                     f"{label_mode!r}")
  if label_mode == "binary":
    if num_classes != 2:
      raise DataError(f"label_mode='binary' needs exactly 2 class folders, "
                      f"found {num_classes}; use 'categorical' or 'sparse'")
    return class_indices.astype(np.float32)[:, np.newaxis]
  if label_mode == "sparse":
    return class_indices.astype(np.int32)
  return np.eye(num_classes, dtype=np.float32)[class_indices]


def split_validation(folder: ImageFolder, fraction: float
                     ) -> tuple[ImageFolder, ImageFolder]:
  """Splits like ImageDataGenerator(validation_split=fraction).

  Within each class (files in sorted order) the first int(fraction * n) files
  go to validation and the rest to training.

  Returns:
    (training, validation) folders.

  Raises:
    ValueError: fraction not in (0, 1).
  """
  if not 0 < fraction < 1:
    raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
  training, validation = [], []
  for index in range(len(folder.class_names)):
    members = np.flatnonzero(folder.class_indices == index)
    cut = int(fraction * len(members))
    validation.extend(members[:cut])
    training.extend(members[cut:])
  return folder.subset(training), folder.subset(validation)


def load_validation_part(directory: str, fraction: float,
                         image_size: Sequence[int], channels: int = 3
                         ) -> ImageFolder:
  """The validation side of `split_validation`, decoding only its files.

  Membership follows the file listing (zero-length files dropped, as
  `load_image_folder` drops them): within each class the first
  int(fraction * n) files. It equals the training run's split unless some
  other file of the folder failed to decode at training time (training
  reports those as skipped).

  Raises:
    DataError: a missing folder, or no usable validation image.
    ValueError: fraction not in (0, 1).
  """
  if not 0 < fraction < 1:
    raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
  class_names, paths, class_indices = list_image_files(directory)
  chosen = []
  for index in range(len(class_names)):
    members = [i for i in np.flatnonzero(class_indices == index)
               if os.path.getsize(paths[i]) > 0]
    chosen.extend(members[:int(fraction * len(members))])
  image_size = _checked_size(image_size)
  images, ok = _decode_all([paths[i] for i in chosen], image_size, channels,
                           keep=True)
  usable = [chosen[p] for p in np.flatnonzero(ok)]
  if not usable:
    raise DataError(f"image folder {directory} has no usable validation "
                    f"images for validation_split={fraction}")
  with tf.init_scope(), tf.device("/CPU:0"):
    pixels = tf.constant(images[ok])
  return ImageFolder(
      directory=directory, class_names=class_names,
      paths=[paths[i] for i in usable], class_indices=class_indices[usable],
      skipped=[], image_size=image_size, channels=channels, images=pixels)


def folder_batches(folder: ImageFolder, batch_size: int,
                   label_mode: str = "binary", *, seed: int = 0,
                   shuffle: bool = True,
                   augmentation: augment.Augmentation | None = None,
                   rescale: float | None = 1.0 / 255
                   ) -> Callable[[int], tf.data.Dataset]:
  """`epoch -> Dataset` of (images, labels) batches of an `ImageFolder`.

  Args:
    folder: from `load_image_folder`.
    batch_size: images per batch; the last batch may be smaller.
    label_mode: "binary", "sparse" or "categorical".
    seed: seed of the order and the augmentation.
    shuffle: shuffle each epoch (False for validation).
    augmentation: settings, or None (always None for validation).
    rescale: factor applied after augmentation, or None.

  Returns:
    A function from epoch number to a batched dataset.
  """
  labels = encode_labels(folder.class_indices, len(folder.class_names),
                         label_mode)
  if folder.images is not None:
    return augment.array_batches(folder.images, labels, batch_size, seed=seed,
                                 augmentation=augmentation, shuffle=shuffle,
                                 rescale=rescale)
  return _streamed_batches(folder, labels, batch_size, seed, shuffle,
                           augmentation, rescale)


def _streamed_batches(folder: ImageFolder, labels: np.ndarray,
                      batch_size: int, seed: int, shuffle: bool,
                      augmentation: augment.Augmentation | None,
                      rescale: float | None
                      ) -> Callable[[int], tf.data.Dataset]:
  """Batches that decode the files each epoch (too big for memory)."""
  paths = np.asarray(folder.paths, dtype=object)

  def finish(epoch, batch_index, images, batch_labels):
    images = tf.cast(images, tf.float32)
    if augmentation is not None:
      images = augment.augment_batch(
          images, augmentation, augment.batch_seed(seed, epoch, batch_index))
    if rescale is not None:
      images = images * rescale
    return images, batch_labels

  def for_epoch(epoch: int) -> tf.data.Dataset:
    order = (augment.epoch_order(len(paths), seed, epoch) if shuffle
             else np.arange(len(paths)))
    dataset = tf.data.Dataset.from_tensor_slices((paths[order], labels[order]))
    dataset = dataset.map(
        lambda path, label: (decode_file(path, folder.image_size,
                                         folder.channels), label),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A file that changed since validation is dropped, not fatal.
    dataset = dataset.ignore_errors(log_warning=True).batch(batch_size)
    dataset = dataset.enumerate().map(
        lambda index, batch: finish(epoch, index, *batch),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)

  return for_epoch


def image_folder_bundle(train_dir: str, *, validation_dir: str | None = None,
                        validation_split: float | None = None,
                        image_size: Sequence[int] = (150, 150),
                        batch_size: int = 32, label_mode: str = "binary",
                        channels: int = 3, seed: int = 0,
                        augmentation: augment.Augmentation | None = None,
                        rescale: float | None = 1.0 / 255,
                        strict: bool = False,
                        cache_bytes: int = DEFAULT_CACHE_BYTES) -> DataBundle:
  """Training (+ validation) batches from class-per-folder directories.

  Args:
    train_dir: training root folder.
    validation_dir: validation root folder with the same classes, or None.
    validation_split: fraction of `train_dir` to hold out instead (see
      `split_validation`), or None.
    image_size: (height, width) to resize to.
    batch_size: images per batch.
    label_mode: "binary", "sparse" or "categorical".
    channels: 1, 3 or 4.
    seed: seed of shuffling and augmentation.
    augmentation: applied to training batches only.
    rescale: pixel factor, 1/255 by default.
    strict: raise on unusable files instead of skipping them.
    cache_bytes: memory budget per folder for decoded images.

  Returns:
    A `DataBundle` whose `ImageInfo` holds class_names, label_mode,
    image_size, channels and skipped (path, reason) pairs.

  Raises:
    DataError: bad folders or files, or validation classes that differ.
    ValueError: both validation_dir and validation_split given.
  """
  if validation_dir is not None and validation_split is not None:
    raise ValueError("give validation_dir or validation_split, not both")
  if label_mode not in LABEL_MODES:
    raise ValueError(f"label_mode must be one of {LABEL_MODES}, got "
                     f"{label_mode!r}")
  load = dict(image_size=image_size, channels=channels, strict=strict,
              cache_bytes=cache_bytes)
  training = load_image_folder(train_dir, verbose=validation_split is None,
                               **load)
  check_trainable_classes(training)
  validation = None
  if validation_split is not None:
    training, validation = split_validation(training, validation_split)
    print(training.found_line(), flush=True)
    print(validation.found_line(), flush=True)
  elif validation_dir is not None:
    validation = load_image_folder(validation_dir, **load)
    _check_same_classes(training, validation)
  skipped = list(training.skipped)
  if validation is not None and validation_dir is not None:
    skipped += validation.skipped
  batches = dict(batch_size=batch_size, label_mode=label_mode, seed=seed,
                 rescale=rescale)
  train = folder_batches(training, shuffle=True, augmentation=augmentation,
                         **batches)
  validation_data = None
  if validation is not None and validation.num_images:
    validation_data = folder_batches(validation, shuffle=False, **batches)(0)
  return DataBundle(
      train=train, validation=validation_data,
      steps_per_epoch=math.ceil(training.num_images / batch_size),
      info=ImageInfo(class_names=list(training.class_names),
                     label_mode=label_mode,
                     image_size=tuple(training.image_size), channels=channels,
                     num_classes=len(training.class_names),
                     num_examples=training.num_images,
                     num_validation=(0 if validation is None
                                     else validation.num_images),
                     skipped=skipped))


def check_trainable_classes(folder: ImageFolder) -> None:
  """A classifier needs two or more classes, each with a usable image.

  Raises:
    DataError: one class only, or a class folder without usable images.
  """
  if len(folder.class_names) < 2:
    raise DataError(
        f"image folder {folder.directory} has only the class "
        f"{folder.class_names}; a classifier needs at least 2 class "
        "sub-folders")
  counts = np.bincount(folder.class_indices,
                       minlength=len(folder.class_names))
  empty = [n for n, c in zip(folder.class_names, counts) if c == 0]
  if empty:
    raise DataError(
        f"image folder {folder.directory}: class folder(s) "
        f"{', '.join(empty)} hold no usable images; add images or remove "
        "the folder(s)")


def _check_same_classes(training: ImageFolder,
                        validation: ImageFolder) -> None:
  if training.class_names != validation.class_names:
    raise DataError(f"validation folder {validation.directory} has classes "
                    f"{validation.class_names} but training folder "
                    f"{training.directory} has {training.class_names}; the "
                    f"class sub-folders must match")
