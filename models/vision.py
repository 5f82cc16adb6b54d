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

Every convolution is 3x3 with ReLU and every pooling 2x2, as in the course's
notebooks. Data options are hparams (`--data_path`, `--image_size`,
`--hparam k=v`); the readers are in `data/images/` (`data.images.bundles`).

Example:
  python -m trainers.train --model=mnist_cnn \
      --data_path=/data/mnist --hparam=split=t10k --hparam=validation_split=0.2
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data.images import augment
from data.images import bundles as image_bundles
from engine.hooks import Hook
from engine.module import Module
from engine.modules.basic import Dropout, Flatten
from engine.modules.conv import Conv2D
from engine.modules.dense import Dense
from engine.modules.pool import MaxPool2D
from engine.modules.sequential import Sequential
from models.registry import Recipe, register


# -- architectures -------------------------------------------------------------

MNIST_CLASSES = 10
SIGN_LANGUAGE_CLASSES = 26
RPS_CLASSES = 3


def conv_pool_blocks(filters: Sequence[int]) -> list[Module]:
  """One Conv2D(f, 3x3, relu) + MaxPool2D(2) pair per entry of `filters`."""
  layers: list[Module] = []
  for count in filters:
    layers.append(Conv2D(count, 3, activation="relu"))
    layers.append(MaxPool2D(2))
  return layers


def classifier_head(hidden_units: int, num_outputs: int) -> list[Module]:
  """Flatten, Dense(hidden, relu), then sigmoid (1 output) or softmax."""
  activation = "sigmoid" if num_outputs == 1 else "softmax"
  return [Flatten(), Dense(hidden_units, activation="relu"),
          Dense(num_outputs, activation=activation)]


def build_mnist_dnn(hparams: Mapping[str, Any]) -> Sequential:
  """Flatten -> Dense 128 relu -> Dense 10 softmax (MNIST, Fashion-MNIST)."""
  del hparams  # The input size comes from the first batch.
  return Sequential(classifier_head(128, MNIST_CLASSES), name="mnist_dnn")


def build_mnist_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 64 + pool -> Flatten -> Dense 128 relu -> Dense 10 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64]) + classifier_head(
      128, MNIST_CLASSES), name="mnist_cnn")


def build_fashion_mnist_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Two (Conv 64 + pool) blocks -> Dense 128 relu -> Dense 10 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64]) + classifier_head(
      128, MNIST_CLASSES), name="fashion_mnist_cnn")


def build_small_binary_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 16, 32, 64 (each + pool) -> Dense 512 relu -> Dense 1 sigmoid.

  The happy-or-sad and cats-vs-dogs model, on 150x150x3 by default.
  """
  del hparams
  return Sequential(conv_pool_blocks([16, 32, 64]) + classifier_head(512, 1),
                    name="binary_cnn")


def build_horse_human_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Five conv + pool blocks (16, 32, 64, 64, 64) -> Dense 512 -> sigmoid."""
  del hparams
  return Sequential(conv_pool_blocks([16, 32, 64, 64, 64])
                    + classifier_head(512, 1), name="horse_human_cnn")


def build_rps_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 64, 64, 128, 128 (each + pool) -> Dropout 0.5 -> Dense 512 ->
  Dense 3 softmax (rock, paper, scissors)."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64, 128, 128]) + [
      Flatten(), Dropout(0.5), Dense(512, activation="relu"),
      Dense(RPS_CLASSES, activation="softmax")], name="rps_cnn")


def build_sign_language_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Two (Conv 64 + pool) blocks -> Dense 128 relu -> Dense 26 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64]) + classifier_head(
      128, SIGN_LANGUAGE_CLASSES), name="sign_language_cnn")


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
    pixels = tf.cast(self.images, tf.float32) * image_bundles.RESCALE
    grid = augment.augment_grid(pixels, self.copies, self.augmentation,
                                self.seed)
    trainer.writers.images("train", "augmented", tf.clip_by_value(grid, 0, 1),
                           int(trainer.global_step.numpy()))
    trainer.writers.flush()
    self.logged = True


def augmentation_hooks(hparams: Mapping[str, Any], data) -> list[Hook]:
  """The recipes' `extra_hooks`: the augmented-images grid when augmenting."""
  augmentation = image_bundles.augmentation_for(hparams)
  preview = data.info.preview_images
  if augmentation is None or preview is None:
    return []
  return [AugmentedImagesHook(preview, augmentation,
                              seed=int(hparams.get("seed", 0)))]


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
  return (*image_bundles.MNIST_SHAPE, 1), tf.float32


def _folder_input(hparams: Mapping[str, Any]):
  size = int(hparams["image_size"])
  return (size, size, 3), tf.float32


def _array_data(dataset: str, class_names: Sequence[str]):
  return functools.partial(image_bundles.array_bundle, dataset=dataset,
                           class_names=class_names)


def _folder_data(dataset: str, label_mode: str, num_classes: int):
  return functools.partial(image_bundles.folder_bundle, dataset=dataset,
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
    "(course 1 week 2)", build_mnist_dnn, "mnist",
    image_bundles.MNIST_CLASS_NAMES)

FASHION_MNIST_DNN = _array_recipe(
    "fashion_mnist_dnn", "Flatten + Dense 128 + Dense 10 on Fashion-MNIST "
    "(course 1 week 2)", build_mnist_dnn, "fashion-mnist",
    image_bundles.FASHION_CLASS_NAMES)

MNIST_CNN = _array_recipe(
    "mnist_cnn", "Conv 64 + pool, Dense 128, Dense 10 on MNIST digits "
    "(course 1 week 3)", build_mnist_cnn, "mnist",
    image_bundles.MNIST_CLASS_NAMES)

FASHION_MNIST_CNN = _array_recipe(
    "fashion_mnist_cnn", "two Conv 64 + pool blocks, Dense 128, Dense 10 on "
    "Fashion-MNIST (course 1 week 3)", build_fashion_mnist_cnn,
    "fashion-mnist", image_bundles.FASHION_CLASS_NAMES)

SIGN_LANGUAGE_CNN = _array_recipe(
    "sign_language_cnn", "two Conv 64 + pool blocks, Dense 128, Dense 26 on "
    "Sign Language MNIST CSVs, augmented (course 2 week 4)",
    build_sign_language_cnn, "sign-language-mnist",
    image_bundles.SIGN_CLASS_NAMES, epochs=15, augment=True)

HAPPY_SAD_CNN = register(Recipe(
    name="happy_sad_cnn",
    description="Conv 16/32/64 + Dense 512 + sigmoid on 150x150 happy or "
                "sad faces; stops at 99.9% accuracy (course 1 week 4)",
    build_model=build_small_binary_cnn,
    make_data=_folder_data("happy-or-sad", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=10, epochs=20),
    target=("accuracy", 0.999), input_shape=_folder_input,
    extra_hooks=augmentation_hooks))

HORSE_HUMAN_CNN = register(Recipe(
    name="horse_human_cnn",
    description="five conv + pool blocks (16-64), Dense 512, sigmoid on "
                "300x300 horses or humans (course 1 week 4)",
    build_model=build_horse_human_cnn,
    make_data=_folder_data("horse-or-human", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=128, image_size=300),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))

CATS_DOGS_CNN = register(Recipe(
    name="cats_dogs_cnn",
    description="Conv 16/32/64 + Dense 512 + sigmoid on 150x150 cats or "
                "dogs; augment=true for the course's augmentation "
                "(course 2 weeks 1-2)",
    build_model=build_small_binary_cnn,
    make_data=_folder_data("cats-and-dogs-filtered", "binary", 2),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=100),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))

RPS_CNN = register(Recipe(
    name="rps_cnn",
    description="Conv 64/64/128/128, Dropout 0.5, Dense 512, softmax 3 on "
                "150x150 rock-paper-scissors, augmented (course 2 week 4)",
    build_model=build_rps_cnn,
    make_data=_folder_data("rps", "categorical", RPS_CLASSES),
    loss="categorical_crossentropy", metrics=("accuracy",),
    optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=126, epochs=25, augment=True),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))
