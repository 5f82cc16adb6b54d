"""Data bundles of the vision models: in-memory arrays and image folders.

Array models (MNIST, Fashion-MNIST, Sign Language MNIST) read `data_path`:

* a folder of IDX files: `split` "auto" trains on the train split and
  validates on t10k when both are there, or trains on whichever split the
  folder holds ("train" or "t10k" picks one explicitly, without automatic
  validation);
* Keras's `mnist.npz`: x_train/y_train, validated on x_test/y_test
  (`split="t10k"` trains on the test arrays instead);
* a label-then-pixels CSV (Kaggle's Fashion-MNIST, Sign Language MNIST),
  validated on the CSV `validation_path` if given.

Then `skip` drops the first examples, `take` (> 0) keeps that many, and a
`validation_split` in (0, 1) holds out the LAST fraction as validation data
(like Keras's `fit(validation_split=...)`), replacing any other validation
data: with the t10k files alone, `split=t10k, validation_split=0.2` trains
on the first 8,000 images and validates on the last 2,000. Pixels are
scaled to [0, 1].

Folder models read a class-per-folder `data_path` with a `validation_dir`
or a `validation_split`. Without a `data_path` both kinds use the cached
download of their course dataset (`data.images.prepare.prepare`).

Every bundle stores `classes.json` in model_dir (class names, label mode,
input shape) for `trainers.predict` and the confusion matrix.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data.images import arrays
from data.images import augment
from data.bundle import DataBundle
from data.images.info import ImageInfo
from data.errors import DataError
from data.images.image_csv import read_image_csv
from data.images import test_split as image_test_split
from data.images.image_folder import IMAGE_EXTENSIONS
from data.images.image_folder import decode_file
from data.images.image_folder import image_files_under
from data.images.image_folder import folder_batches
from data.images.image_folder import load_validation_part
from data.images.image_folder import image_folder_bundle
from data.images.image_folder import list_image_files
from data.images import prepare as vision_datasets

CLASSES_FILE = "classes.json"
RESCALE = 1.0 / 255
PREVIEW_IMAGES = 4
MNIST_SHAPE = (28, 28)
SPLITS = ("auto", "train", "t10k")
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")

# The course's ImageDataGenerator settings for training images.
COURSE_AUGMENTATION = augment.Augmentation(
    rotation_range=40, width_shift_range=0.2, height_shift_range=0.2,
    shear_range=0.2, zoom_range=0.2, horizontal_flip=True,
    fill_mode="nearest")

MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
FASHION_CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SIGN_CLASS_NAMES = tuple(chr(ord("A") + i) for i in range(26))


def augmentation_for(hparams: Mapping[str, Any]
                     ) -> augment.Augmentation | None:
  """The course's augmentation when hparams["augment"] is on, else None."""
  return COURSE_AUGMENTATION if hparams.get("augment") else None


def class_artifact(class_names: Sequence[str], label_mode: str,
                   input_shape: Sequence[int]) -> dict[str, str]:
  """The `classes.json` artifact: what inference needs besides weights."""
  content = {"class_names": list(class_names), "label_mode": label_mode,
             "input_shape": [int(v) for v in input_shape],
             "rescale": RESCALE}
  return {CLASSES_FILE: json.dumps(content, indent=1) + "\n"}


def read_class_info(model_dir: str) -> dict | None:
  """The `classes.json` stored at training time, or None if absent.

  Raises:
    DataError: the file exists but is not valid JSON.
  """
  path = os.path.join(model_dir, CLASSES_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding="utf-8") as stream:
      return json.load(stream)
  except (OSError, json.JSONDecodeError) as error:
    raise DataError(f"{path} is unreadable ({error}); train again to "
                    f"rewrite it") from error


def expand_image_paths(paths: Sequence[str]) -> list[str]:
  """The image files `paths` name: a file as given, a folder as every
  image file under it (sorted; hidden files and folders ignored).

  Raises:
    DataError: a path that does not exist, or a folder without images.
  """
  files = []
  for path in paths:
    if os.path.isdir(path):
      found = image_files_under(path)
      if not found:
        raise DataError(f"folder {path} holds no image files (extensions "
                        f"{', '.join(IMAGE_EXTENSIONS)})")
      files.extend(found)
    elif os.path.isfile(path):
      files.append(path)
    else:
      raise DataError(f"image {path} does not exist")
  return files


def load_image_files(paths: Sequence[str], input_shape: Sequence[int],
                     rescale: float = RESCALE) -> np.ndarray:
  """Decodes image files as the model's input: float32 [N, H, W, C].

  Each file is decoded (PNG, JPEG, GIF, BMP), converted to C channels,
  resized bilinearly to H x W and scaled by `rescale`, like training data.

  Raises:
    DataError: a missing file, or one that is not a decodable image.
  """
  return load_readable_image_files(paths, input_shape, rescale,
                                   strict=True)[0]


def _op_error_reason(error: Exception) -> str:
  """The first line of a TF error, without its `{{function_node ...}}`."""
  text = getattr(error, "message", str(error))
  text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
  text = re.sub(r"\s*\[Op:[^\]]*\].*", "", text).strip()
  return (text.splitlines() or ["unknown"])[0][:120]


def load_readable_image_files(paths: Sequence[str],
                              input_shape: Sequence[int],
                              rescale: float = RESCALE, strict: bool = False
                              ) -> tuple[np.ndarray, list[str], list[str]]:
  """(images as `load_image_files` gives them, their paths, one line per
  file skipped because it is not a decodable image).

  Raises:
    DataError: a missing file; with `strict`, the first undecodable one;
      without, no decodable file at all.
  """
  if not paths:
    raise DataError("no image files given")
  height, width, channels = (int(v) for v in input_shape)
  images, kept, skipped = [], [], []
  for path in paths:
    if not os.path.isfile(path):
      raise DataError(f"image {path} does not exist")
    try:
      images.append(decode_file(path, (height, width), channels).numpy())
      kept.append(path)
    except (tf.errors.OpError, ValueError) as error:
      problem = (f"cannot decode {path} as PNG, JPEG, GIF or BMP "
                 f"({_op_error_reason(error)})")
      if strict:
        raise DataError(problem) from None
      skipped.append(problem)
  if not images:
    raise DataError(skipped[0] if len(skipped) == 1 else
                    f"none of the {len(skipped)} files is a decodable image; "
                    f"first: {skipped[0]}")
  return np.stack(images).astype(np.float32) * rescale, kept, skipped


# -- array datasets -----------------------------------------------------------


def _reject_archive(path: str, dataset: str) -> None:
  if path.lower().endswith(_ARCHIVE_SUFFIXES) and os.path.isfile(path):
    raise DataError(
        f"data_path {path} is an archive; extract it first with "
        f"python -m trainers.prepare --dataset={dataset} --archive={path} and "
        f"pass the folder it prints as --data_path")


def _with_channel(images: np.ndarray) -> np.ndarray:
  return images[..., np.newaxis] if images.ndim == 3 else images


def _idx_has_split(directory: str, split: str) -> bool:
  try:
    arrays.idx_paths(directory, split)
  except DataError:
    return False
  return True


def _load_idx_dir(directory: str, split: str):
  """(train arrays, validation arrays or None) from a folder of IDX files."""
  if split != "auto":
    return arrays.load_idx_split(directory, split), None
  if _idx_has_split(directory, "train"):
    validation = (arrays.load_idx_split(directory, "t10k")
                  if _idx_has_split(directory, "t10k") else None)
    return arrays.load_idx_split(directory, "train"), validation
  if _idx_has_split(directory, "t10k"):
    print(f"{directory} holds no train split: training on t10k", flush=True)
    return arrays.load_idx_split(directory, "t10k"), None
  # Neither split is complete: let the reader name the missing files.
  return arrays.load_idx_split(directory, "train"), None


def load_arrays(data_path: str, split: str = "auto",
                validation_path: str | None = None, dataset: str = "mnist"):
  """Reads training (and validation) images and labels from `data_path`.

  Args:
    data_path: an IDX folder, an .npz or a label-then-pixels CSV.
    split: "auto", "train" or "t10k" (IDX folder and npz only).
    validation_path: a CSV of validation images (CSV data only).
    dataset: the prepare dataset name used in the archive hint.

  Returns:
    ((images uint8 [N, 28, 28, 1], labels [N]), validation pair or None).

  Raises:
    DataError: a missing or unreadable path, a bad split, or a
      validation_path with non-CSV data.
  """
  if split not in SPLITS:
    raise DataError(f"split must be one of {SPLITS}, got {split!r}")
  _reject_archive(data_path, dataset)
  is_csv = data_path.lower().endswith(".csv")
  if validation_path and not is_csv:
    raise DataError(f"validation_path {validation_path} applies to CSV data; "
                    f"data_path {data_path} is not a .csv (use "
                    f"validation_split instead)")
  if os.path.isdir(data_path):
    train, validation = _load_idx_dir(data_path, split)
  elif data_path.lower().endswith(".npz"):
    train, test = arrays.load_mnist_npz(data_path)
    train, validation = (test, None) if split == "t10k" else (train, test)
  elif is_csv:
    train = read_image_csv(data_path, MNIST_SHAPE)
    validation = (read_image_csv(validation_path, MNIST_SHAPE)
                  if validation_path else None)
  elif not os.path.exists(data_path):
    raise DataError(f"data_path {data_path} does not exist; expected a folder "
                    f"of IDX files, an .npz or a .csv")
  else:
    raise DataError(f"data_path {data_path} is not a folder of IDX files, an "
                    f".npz or a .csv; pass one of those")
  to_pair = lambda pair: (_with_channel(pair[0]), pair[1].astype(np.int32))
  return to_pair(train), (to_pair(validation) if validation else None)


def select_examples(images: np.ndarray, labels: np.ndarray, skip: int,
                    take: int) -> tuple[np.ndarray, np.ndarray]:
  """Drops the first `skip` examples, then keeps `take` of them (0: all).

  Raises:
    DataError: negative counts, or nothing left.
  """
  if skip < 0 or take < 0:
    raise DataError(f"skip and take must be >= 0, got skip={skip}, "
                    f"take={take}")
  end = len(labels) if take == 0 else skip + take
  images, labels = images[skip:end], labels[skip:end]
  if not len(labels):
    raise DataError(f"skip={skip}, take={take} leaves no examples; the data "
                    f"has {len(labels) + skip} at most")
  return images, labels


def hold_out(images: np.ndarray, labels: np.ndarray, fraction: float):
  """Splits off the last `fraction` of the examples as validation data.

  Returns:
    ((train images, labels), (validation images, labels)).

  Raises:
    DataError: fraction outside (0, 1) or a side left empty.
  """
  if not 0 < fraction < 1:
    raise DataError(f"validation_split must be in (0, 1), got {fraction}")
  cut = int(round(len(labels) * (1 - fraction)))
  if cut in (0, len(labels)):
    raise DataError(f"validation_split={fraction} of {len(labels)} examples "
                    f"leaves one side empty; use more data or another split")
  return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


def _check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
  if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
    raise DataError(f"{where} has labels in {labels.min()}..{labels.max()}, "
                    f"but the model predicts {num_classes} classes "
                    f"(0..{num_classes - 1}); is this the right dataset?")


def _array_sources(hparams: Mapping[str, Any], dataset: str
                   ) -> tuple[str, str | None]:
  """(data_path, validation_path): the given ones, else the prepared
  download of `dataset`."""
  data_path = hparams.get("data_path")
  validation_path = hparams.get("validation_path")
  if not data_path:
    prepared = vision_datasets.prepare(dataset)
    data_path = prepared.data_path
    validation_path = validation_path or prepared.validation_path
  return data_path, validation_path


def array_bundle(hparams: Mapping[str, Any], *, dataset: str,
                 class_names: Sequence[str]) -> DataBundle:
  """Batches of an array dataset (see the module docstring).

  Args:
    hparams: data_path, validation_path, split, skip, take,
      validation_split, augment, batch_size and seed.
    dataset: the `data.images.prepare` name used without a data_path.
    class_names: the model's classes, in label order.

  Returns:
    A DataBundle of (float32 [B, 28, 28, 1] in [0, 1], int32 [B]) batches;
    its `ImageInfo` holds class_names, label_mode "sparse", image_size,
    channels, num_examples, num_validation and (when augmenting)
    preview_images.

  Raises:
    DataError: bad data or data options.
  """
  data_path, validation_path = _array_sources(hparams, dataset)
  (images, labels), validation = load_arrays(
      data_path, hparams.get("split", "auto"), validation_path, dataset)
  images, labels = select_examples(images, labels, hparams.get("skip", 0),
                                   hparams.get("take", 0))
  if hparams.get("validation_split"):
    (images, labels), validation = hold_out(images, labels,
                                            hparams["validation_split"])
  _check_labels(labels, len(class_names), data_path)
  if validation is not None:
    _check_labels(validation[1], len(class_names),
                  validation_path or data_path)
  augmentation = augmentation_for(hparams)
  batch_size, seed = hparams["batch_size"], hparams["seed"]
  print(f"Training on {len(labels)} images from {data_path}"
        + (f", validating on {len(validation[1])}." if validation else "."),
        flush=True)
  train = augment.array_batches(images, labels, batch_size, seed=seed,
                                augmentation=augmentation, rescale=RESCALE)
  validation_data = None
  if validation is not None:
    validation_data = augment.array_batches(
        *validation, batch_size, seed=seed, shuffle=False,
        rescale=RESCALE)(0)
  info = ImageInfo(
      class_names=list(class_names), label_mode="sparse",
      image_size=MNIST_SHAPE, channels=1, num_classes=len(class_names),
      num_examples=len(labels),
      num_validation=0 if validation is None else len(validation[1]),
      preview_images=(None if augmentation is None
                      else images[:PREVIEW_IMAGES]))
  return DataBundle(
      train=train, validation=validation_data,
      steps_per_epoch=math.ceil(len(labels) / batch_size), info=info,
      artifacts=class_artifact(class_names, "sparse", (*MNIST_SHAPE, 1)))


def _validation_arrays(data_path: str, split: str,
                       validation_path: str | None):
  """The validation pair array_bundle reads besides its training data, or
  None; reads only the validation file (the t10k split, x_test, the CSV)."""
  lower = data_path.lower()
  to_pair = lambda pair: (_with_channel(pair[0]), pair[1].astype(np.int32))
  if lower.endswith(".csv"):
    return (to_pair(read_image_csv(validation_path, MNIST_SHAPE))
            if validation_path else None)
  if lower.endswith(".npz"):
    return None if split == "t10k" else to_pair(
        arrays.load_mnist_npz(data_path)[1])
  if (os.path.isdir(data_path) and split == "auto"
      and _idx_has_split(data_path, "train")
      and _idx_has_split(data_path, "t10k")):
    return to_pair(arrays.load_idx_split(data_path, "t10k"))
  return None


def array_validation(hparams: Mapping[str, Any], class_info: Mapping[str, Any],
                     *, dataset: str) -> tf.data.Dataset | None:
  """The validation batches of `array_bundle`, read alone (evaluate).

  A `validation_split` is the tail of the training file, so that file is
  read; otherwise only the validation file is. Pixels are scaled by the
  saved `rescale`.

  Args:
    hparams: the run's data options and batch_size.
    class_info: the run's classes.json (class_names, rescale).
    dataset: the `data.images.prepare` name used without a data_path.

  Returns:
    Batches equal to the training run's validation batches, or None when
    the run has no validation data.

  Raises:
    DataError: missing or unreadable files, or labels outside the classes.
  """
  data_path, validation_path = _array_sources(hparams, dataset)
  split = hparams.get("split", "auto")
  if hparams.get("validation_split"):
    (images, labels), _ = load_arrays(data_path, split, None, dataset)
    images, labels = select_examples(images, labels, hparams.get("skip", 0),
                                     hparams.get("take", 0))
    _, validation = hold_out(images, labels, hparams["validation_split"])
  else:
    validation = _validation_arrays(data_path, split, validation_path)
  if validation is None:
    return None
  _check_labels(validation[1], len(class_info["class_names"]),
                validation_path or data_path)
  return augment.array_batches(
      *validation, int(hparams["batch_size"]), shuffle=False,
      rescale=class_info.get("rescale", RESCALE))(0)


# -- image folders ------------------------------------------------------------


def preview_images(train_dir: str, image_size: Sequence[int],
                   count: int = PREVIEW_IMAGES) -> np.ndarray:
  """A few training images (the first of each class in turn), uint8.

  Returns:
    [n <= count, height, width, 3]; files that fail to decode are skipped.
  """
  _, paths, class_indices = list_image_files(train_dir)
  order = np.lexsort((np.arange(len(paths)), class_indices))
  by_class: dict[int, list[str]] = {}
  for index in order:
    by_class.setdefault(int(class_indices[index]), []).append(paths[index])
  chosen = []
  for position in range(max((len(v) for v in by_class.values()), default=0)):
    for files in by_class.values():
      if position < len(files) and len(chosen) < count:
        chosen.append(files[position])
  images = []
  for path in chosen:
    try:
      images.append(decode_file(path, image_size, 3).numpy())
    except (tf.errors.OpError, ValueError):
      continue  # The folder loader reports unusable files.
  return np.stack(images) if images else np.zeros([0, *image_size, 3],
                                                   np.uint8)


def _folder_sources(hparams: Mapping[str, Any], dataset: str):
  """(train_dir, validation_dir or None, validation_split or None)."""
  data_path = hparams.get("data_path")
  validation_dir = hparams.get("validation_dir")
  split = hparams.get("validation_split") or None
  if data_path:
    _reject_archive(data_path, dataset)
    if validation_dir and split:
      raise DataError(f"give validation_dir ({validation_dir}) or "
                      f"validation_split ({split}), not both")
    return data_path, validation_dir, split
  prepared = vision_datasets.prepare(dataset)
  if split:
    return prepared.data_path, validation_dir, split
  return prepared.data_path, validation_dir or prepared.validation_path, None


def folder_bundle(hparams: Mapping[str, Any], *, dataset: str,
                  label_mode: str, num_classes: int) -> DataBundle:
  """Batches of a class-per-folder image dataset.

  Args:
    hparams: data_path, validation_dir, validation_split, image_size,
      augment, strict_data, batch_size and seed.
    dataset: the `data.images.prepare` name used without a data_path.
    label_mode: "binary" or "categorical".
    num_classes: class folders the model expects.

  Returns:
    A DataBundle from `data.images.image_folder.image_folder_bundle` with the
    classes.json artifact and (when augmenting) `info.preview_images`.

  Raises:
    DataError: bad folders or files, or a class count the model cannot
      predict.
  """
  train_dir, validation_dir, split = _folder_sources(hparams, dataset)
  size = int(hparams["image_size"])
  augmentation = augmentation_for(hparams)
  bundle = image_folder_bundle(
      train_dir, validation_dir=validation_dir, validation_split=split,
      image_size=(size, size), batch_size=hparams["batch_size"],
      label_mode=label_mode, channels=3, seed=hparams["seed"],
      augmentation=augmentation, strict=bool(hparams.get("strict_data")))
  class_names = bundle.info.class_names
  if len(class_names) != num_classes:
    raise DataError(f"{train_dir} has {len(class_names)} class folders "
                    f"({', '.join(class_names)}), but the model predicts "
                    f"{num_classes} classes")
  bundle.artifacts.update(class_artifact(class_names, label_mode,
                                         (size, size, 3)))
  if augmentation is not None:
    bundle.info.preview_images = preview_images(train_dir, (size, size))
  return bundle


def folder_validation(hparams: Mapping[str, Any],
                      class_info: Mapping[str, Any], *,
                      dataset: str) -> tf.data.Dataset | None:
  """The validation batches of `folder_bundle`, read alone (evaluate).

  Only the validation images are decoded (a `validation_dir`, or the
  validation part of a `validation_split`), with the saved image size,
  channels, class names, label mode and rescale of classes.json.

  Args:
    hparams: the run's data options and batch_size.
    class_info: the run's classes.json.
    dataset: the `data.images.prepare` name used without a data_path.

  Returns:
    Batches equal to the training run's validation batches, or None when
    the run has no validation data.

  Raises:
    DataError: missing folders, no usable image, or other classes.
  """
  train_dir, validation_dir, split = _folder_sources(hparams, dataset)
  names, shape = class_info["class_names"], class_info["input_shape"]
  rescale = class_info.get("rescale", RESCALE)
  batch_size = int(hparams["batch_size"])
  if validation_dir:
    return image_test_split.folder_test_split(
        validation_dir, names, shape[:2], shape[2], class_info["label_mode"],
        batch_size, rescale)
  if not split:
    return None
  folder = load_validation_part(train_dir, split, shape[:2], shape[2])
  image_test_split.check_same_classes(train_dir, folder.class_names, names)
  return folder_batches(folder, batch_size, class_info["label_mode"],
                        shuffle=False, rescale=rescale)(0)
