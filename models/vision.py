"""The course's computer-vision models (courses 1 and 2) and their registry.

Registered names (the CLI contract):

* `mnist_dnn`, `fashion_mnist_dnn`: Flatten, Dense 128, Dense 10 softmax;
* `mnist_cnn`, `fashion_mnist_cnn`: one or two Conv 64 + pool blocks first;
* `happy_sad_cnn`: 150x150 RGB, stops at 99.9% training accuracy;
* `horse_human_cnn`: 300x300 RGB, five conv + pool blocks;
* `cats_dogs_cnn`: like happy_sad_cnn, batch 100, `augment` switches the
  course's augmentation on;
* `rps_cnn`: rock-paper-scissors, three classes, augmented by default;
* `sign_language_cnn`: 28x28 gray letters from CSV, augmented by default.

Data options are hparams (`--data_path`, `--image_size`, `--hparam k=v`);
see `models/vision_data.py`. This module also holds what evaluation of a
classifier adds to metrics.json: `confusion_matrix` and
`confusion_report`.

Example:
  python -m trainers.train --model=mnist_cnn \
      --data_path=/data/mnist --hparam=split=t10k --hparam=validation_split=0.2
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data import augment
from engine import losses as losses_lib
from engine.hooks import Hook
from models import vision_data
from models import vision_models
from models import registry
from models.registry import Recipe, register

CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy",
                         "sparse_categorical_crossentropy")
GRID_COPIES = 4


# -- hooks --------------------------------------------------------------------


class AugmentedImagesHook(Hook):
  """Logs a grid of training images and augmented copies, once.

  Each row of the grid is one image followed by `copies` augmented
  versions, written as `trainer.writers.images("train", "augmented", ...)`
  before the first epoch this process trains.

  Args:
    images: uint8 [N, H, W, C] training images (pixels 0..255).
    augmentation: the settings the training batches use.
    copies: augmented versions per image.
    seed: seed of the augmentation draws.
  """

  def __init__(self, images: np.ndarray, augmentation: augment.Augmentation,
               copies: int = GRID_COPIES, seed: int = 0):
    self.images = np.asarray(images)
    self.augmentation = augmentation
    self.copies = copies
    self.seed = seed
    self.logged = False

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    if self.logged or not len(self.images):
      return
    pixels = tf.cast(self.images, tf.float32) * vision_data.RESCALE
    grid = augment.augment_grid(pixels, self.copies, self.augmentation,
                                self.seed)
    trainer.writers.images("train", "augmented", tf.clip_by_value(grid, 0, 1),
                           int(trainer.global_step.numpy()))
    trainer.writers.flush()
    self.logged = True


def augmentation_hooks(hparams: Mapping[str, Any], data) -> list[Hook]:
  """The recipes' `extra_hooks`: the augmented-images grid when augmenting."""
  augmentation = vision_data.augmentation_for(hparams)
  preview = data.extras.get("preview_images")
  if augmentation is None or preview is None:
    return []
  return [AugmentedImagesHook(preview, augmentation,
                              seed=int(hparams.get("seed", 0)))]


# -- confusion matrix ---------------------------------------------------------


def label_classes(labels) -> np.ndarray:
  """Class indices of binary [B, 1], sparse [B] or one-hot [B, K] labels."""
  labels = np.asarray(labels)
  if labels.ndim == 2 and labels.shape[1] > 1:
    return labels.argmax(axis=1)
  return np.rint(labels.reshape(-1)).astype(np.int64)


def predicted_classes(outputs) -> np.ndarray:
  """Class indices of sigmoid [B, 1] (> 0.5 is class 1) or softmax outputs."""
  outputs = np.asarray(outputs)
  if outputs.shape[-1] == 1:
    return (outputs.reshape(-1) > 0.5).astype(np.int64)
  return outputs.argmax(axis=-1)


def confusion_matrix(trainer, dataset: tf.data.Dataset,
                     num_classes: int | None = None,
                     max_classes: int | None = None) -> np.ndarray | None:
  """Counts of (true class, predicted class) over a labelled dataset.

  Args:
    trainer: a built or restored `engine.trainer.Trainer`.
    dataset: batched (features, labels) in a fixed order (validation data).
    num_classes: K; default 2 for a sigmoid output, else its width.
    max_classes: return None instead of a matrix when K exceeds it.

  Returns:
    int64 [K, K]: row = true class, column = predicted class (or None).

  Raises:
    ValueError: a label outside 0..K-1.
  """
  outputs = trainer.predict(dataset)
  true = np.concatenate([label_classes(element[1].numpy())
                         for element in dataset])
  predicted = predicted_classes(outputs)
  if num_classes is None:
    num_classes = 2 if outputs.shape[-1] == 1 else int(outputs.shape[-1])
  if max_classes is not None and num_classes > max_classes:
    return None
  if len(true) and (true.min() < 0 or true.max() >= num_classes):
    raise ValueError(f"labels span {true.min()}..{true.max()}, outside the "
                     f"{num_classes} classes 0..{num_classes - 1}")
  matrix = np.zeros([num_classes, num_classes], np.int64)
  np.add.at(matrix, (true, predicted), 1)
  return matrix


MAX_CONFUSION_CLASSES = 50


def confusion_report(recipe: Recipe, trainer, dataset: tf.data.Dataset,
                     model_dir: str, class_names=None,
                     max_classes: int = MAX_CONFUSION_CLASSES
                     ) -> dict[str, Any]:
  """What evaluate adds to metrics.json for a classifier, else {}.

  Args:
    recipe: the run's recipe; only crossentropy losses are classifiers.
    trainer: the restored trainer.
    dataset: the evaluated (features, labels) dataset.
    model_dir: where classes.json (class names) was stored at training.
    class_names: names to use instead of classes.json (e.g. a text
      bundle's), used when there is one per class.
    max_classes: above this many outputs (a next-word generator's whole
      vocabulary) no matrix is made.

  Returns:
    {"confusion_matrix": [[...]] (rows true, columns predicted),
     "class_names": [...]} or {} for a non-classifier.
  """
  if losses_lib.canonical_name(
      registry.loss_name(recipe)) not in CLASSIFICATION_LOSSES:
    return {}
  matrix = confusion_matrix(trainer, dataset, max_classes=max_classes)
  if matrix is None:
    return {}
  info = vision_data.read_class_info(model_dir) or {}
  names = list(class_names or info.get("class_names", []))
  if len(names) != len(matrix):
    names = [str(index) for index in range(len(matrix))]
  return {"confusion_matrix": matrix.tolist(), "class_names": names}


def format_confusion(report: Mapping[str, Any]) -> str:
  """The report's matrix as a text table (rows true, columns predicted)."""
  names = [str(name) for name in report["class_names"]]
  rows = report["confusion_matrix"]
  width = max([len(n) for n in names] + [len(str(v)) for r in rows for v in r]
              + [len("true\\pred")])
  lines = [" ".join(f"{cell:>{width}}" for cell in ["true\\pred", *names])]
  for name, row in zip(names, rows):
    lines.append(" ".join(f"{cell:>{width}}" for cell in [name, *row]))
  return "\n".join(lines)


# -- recipes ------------------------------------------------------------------


def _array_hparams(**overrides: Any) -> dict[str, Any]:
  """The hyper-parameters of every 28x28 array model, with its own values."""
  hparams = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 5,
             "seed": 42, "data_path": None, "validation_path": None,
             "split": "auto", "skip": 0, "take": 0, "validation_split": 0.0,
             "augment": False}
  hparams.update(overrides)
  return hparams


def _folder_hparams(**overrides: Any) -> dict[str, Any]:
  """The hyper-parameters of every image-folder model."""
  hparams = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 15,
             "seed": 42, "data_path": None, "validation_dir": None,
             "validation_split": 0.0, "image_size": 150, "augment": False,
             "strict_data": False}
  hparams.update(overrides)
  return hparams


def _mnist_input(hparams: Mapping[str, Any]):
  del hparams
  return (*vision_data.MNIST_SHAPE, 1), tf.float32


def _folder_input(hparams: Mapping[str, Any]):
  size = int(hparams["image_size"])
  return (size, size, 3), tf.float32


def _array_data(dataset: str, class_names: Sequence[str]):
  return functools.partial(vision_data.array_bundle, dataset=dataset,
                           class_names=class_names)


def _folder_data(dataset: str, label_mode: str, num_classes: int):
  return functools.partial(vision_data.folder_bundle, dataset=dataset,
                           label_mode=label_mode, num_classes=num_classes)


def _array_recipe(name: str, description: str, build, dataset: str,
                  class_names: Sequence[str], **hparams: Any) -> Recipe:
  return register(Recipe(
      name=name, description=description, build_model=build,
      make_data=_array_data(dataset, class_names),
      loss="sparse_categorical_crossentropy", metrics=("accuracy",),
      optimizer="adam", hparams=_array_hparams(**hparams),
      input_shape=_mnist_input, extra_hooks=augmentation_hooks))


MNIST_DNN = _array_recipe(
    "mnist_dnn", "Flatten + Dense 128 + Dense 10 on MNIST digits "
    "(course 1 week 2)", vision_models.build_mnist_dnn, "mnist",
    vision_data.MNIST_CLASS_NAMES)

FASHION_MNIST_DNN = _array_recipe(
    "fashion_mnist_dnn", "Flatten + Dense 128 + Dense 10 on Fashion-MNIST "
    "(course 1 week 2)", vision_models.build_mnist_dnn, "fashion-mnist",
    vision_data.FASHION_CLASS_NAMES)

MNIST_CNN = _array_recipe(
    "mnist_cnn", "Conv 64 + pool, Dense 128, Dense 10 on MNIST digits "
    "(course 1 week 3)", vision_models.build_mnist_cnn, "mnist",
    vision_data.MNIST_CLASS_NAMES)

FASHION_MNIST_CNN = _array_recipe(
    "fashion_mnist_cnn", "two Conv 64 + pool blocks, Dense 128, Dense 10 on "
    "Fashion-MNIST (course 1 week 3)", vision_models.build_fashion_mnist_cnn,
    "fashion-mnist", vision_data.FASHION_CLASS_NAMES)

SIGN_LANGUAGE_CNN = _array_recipe(
    "sign_language_cnn", "two Conv 64 + pool blocks, Dense 128, Dense 26 on "
    "Sign Language MNIST CSVs, augmented (course 2 week 4)",
    vision_models.build_sign_language_cnn, "sign-language-mnist",
    vision_data.SIGN_CLASS_NAMES, epochs=15, augment=True)

HAPPY_SAD_CNN = register(Recipe(
    name="happy_sad_cnn",
    description="Conv 16/32/64 + Dense 512 + sigmoid on 150x150 happy or "
                "sad faces; stops at 99.9% accuracy (course 1 week 4)",
    build_model=vision_models.build_small_binary_cnn,
    make_data=_folder_data("happy-or-sad", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=10, epochs=20),
    target=("accuracy", 0.999), input_shape=_folder_input,
    extra_hooks=augmentation_hooks))

HORSE_HUMAN_CNN = register(Recipe(
    name="horse_human_cnn",
    description="five conv + pool blocks (16-64), Dense 512, sigmoid on "
                "300x300 horses or humans (course 1 week 4)",
    build_model=vision_models.build_horse_human_cnn,
    make_data=_folder_data("horse-or-human", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=128, image_size=300),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))

CATS_DOGS_CNN = register(Recipe(
    name="cats_dogs_cnn",
    description="Conv 16/32/64 + Dense 512 + sigmoid on 150x150 cats or "
                "dogs; augment=true for the course's augmentation "
                "(course 2 weeks 1-2)",
    build_model=vision_models.build_small_binary_cnn,
    make_data=_folder_data("cats-and-dogs-filtered", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=100),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))

RPS_CNN = register(Recipe(
    name="rps_cnn",
    description="Conv 64/64/128/128, Dropout 0.5, Dense 512, softmax 3 on "
                "150x150 rock-paper-scissors, augmented (course 2 week 4)",
    build_model=vision_models.build_rps_cnn,
    make_data=_folder_data("rps", "categorical", vision_models.RPS_CLASSES),
    loss="categorical_crossentropy", metrics=("accuracy",),
    optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=126, epochs=25, augment=True),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))
