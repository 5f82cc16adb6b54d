"""The course's computer-vision models (courses 1 and 2) and their registry.

Registered names (the CLI contract):

* `mnist_dnn`, `fashion_mnist_dnn`: Flatten, Dense 128, Dense 10 softmax;
* `mnist_cnn`, `fashion_mnist_cnn`: one or two Conv 64 + pool blocks first;
* `happy_sad_cnn`: 150x150 RGB, stops at 99.9% training accuracy;
* `horse_human_cnn`: 300x300 RGB, five conv + pool blocks;
* `cats_dogs_cnn`: like happy_sad_cnn, batch 100, `augment` switches the
  course's augmentation on;
* `rps_cnn`: rock-paper-scissors, three classes, augmented by default;
* `sign_language_cnn`: 28x28 gray letters from CSV, augmented by default;
* `horse_human_transfer`: InceptionV3 (ImageNet weights, frozen, cut at
  `mixed7`) + Flatten, Dense 1024 relu, Dropout 0.2, Dense 1 sigmoid on
  150x150 horses or humans; RMSprop(1e-4), binary cross-entropy, stops at
  99.9% training accuracy (course 2 week 3);
* `cats_dogs_transfer`: the same on cats vs dogs, augmented as the course.

Every convolution of the course's own CNNs is 3x3 with ReLU and every
pooling 2x2, as in the course's notebooks. Data options are hparams
(`--data_path`, `--image_size`, `--hparam k=v`); the readers are in
`data/images/` (`data.images.bundles`).

The file has four sections: the course's CNN architectures, their hooks and
recipes, the InceptionV3 architecture (Keras's, `include_top=False`, cut
after any block `mixed0` ... `mixed10`), and the transfer recipes built on it.

Transfer hyper-parameters beyond the image-folder ones:

* `cut_at` (mixed7): the last Inception block kept (mixed0 ... mixed10);
* `pretrained` (true) and `pretrained_weights` ("", also the flag
  `--pretrained_weights=FILE`): the Keras weights file of the base; empty
  means the course's file through the cached downloader
  (`data.catalog` "inception-v3-notop"); `pretrained=false` starts from
  random weights (tests, speed measurements);
* `fine_tune_from` (""): a block name unfreezes the base from that block on,
  with a learning rate 10x lower than the head's; BatchNormalization stays
  in inference mode (the base always runs with training=False);
* `cache_features` (false): with a frozen base and no augmentation, the base
  runs once over the training and validation images and the head trains and
  validates on the stored `cut_at` features, so an epoch costs only the head.

The pretrained weights are loaded, and the features cached, by a hook at the
start of training: a run resumed from model_dir keeps its checkpoint's
weights, and predict/evaluate never need the pretrained file.

`ImageClassifierServing` is the exported form (trainers.export): encoded
image files in, decoded and scaled in the graph as training did.

Example:
  python -m trainers.train --model=mnist_cnn \
      --data_path=/data/mnist --hparam=split=t10k --hparam=validation_split=0.2
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data import keras_weights
from data.bundle import DataBundle
from data.errors import DataError
from data.images import augment
from data.images import bundles as image_bundles
from data.images import serving as image_serving
from data.images.info import ImageInfo
from engine import export
from engine import freezing
from engine import summary_table
from engine import weight_transfer
from engine.hooks import Hook
from engine.module import Module
from engine.modules.activation import Activation
from engine.modules.basic import Dropout, Flatten
from engine.modules.conv import Conv2D
from engine.modules.dense import Dense
from engine.modules.merge import Concatenate
from engine.modules.norm import BatchNormalization
from engine.modules.pool import AveragePooling2D, MaxPool2D
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


def _folder_validation(dataset: str):
  return functools.partial(image_bundles.folder_validation, dataset=dataset)


def _array_recipe(name: str, description: str, build, dataset: str,
                  class_names: Sequence[str], **hparams: Any) -> Recipe:
  return register(Recipe(
      name=name, description=description, build_model=build,
      make_data=_array_data(dataset, class_names),
      read_validation=functools.partial(image_bundles.array_validation,
                                        dataset=dataset),
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
    read_validation=_folder_validation("happy-or-sad"),
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
    read_validation=_folder_validation("horse-or-human"),
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
    read_validation=_folder_validation("cats-and-dogs-filtered"),
    loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=100),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))

RPS_CNN = register(Recipe(
    name="rps_cnn",
    description="Conv 64/64/128/128, Dropout 0.5, Dense 512, softmax 3 on "
                "150x150 rock-paper-scissors, augmented (course 2 week 4)",
    build_model=build_rps_cnn,
    make_data=_folder_data("rps", "categorical", RPS_CLASSES),
    read_validation=_folder_validation("rps"),
    loss="categorical_crossentropy", metrics=("accuracy",),
    optimizer="rmsprop",
    hparams=_folder_hparams(batch_size=126, epochs=25, augment=True),
    input_shape=_folder_input, extra_hooks=augmentation_hooks))


# -- InceptionV3 architecture (course 2 week 3) -----------------------------
#
# The stem plus the blocks mixed0 ... mixed10; `cut_at` ends the network after
# one of them (the course cuts at mixed7: 7x7x768 at 150x150). Layers are
# created in the order and with the names Keras gives them in a fresh session
# (conv2d, batch_normalization, activation, ..., mixed0, ...), so the summary
# reads like Keras's, and Keras's weight files map onto the layers of each kind
# in creation order (see `data.keras_weights`). Every convolution has no bias
# and is followed by a BatchNormalization without gamma (scale=False) and a
# ReLU.
#
#   base = InceptionV3(cut_at="mixed7")
#   base.build([150, 150, 3])
#   base.summary()            # 8,975,264 params; full network 21,802,784
#   features = base(images)   # [B, 7, 7, 768]

INCEPTION_BLOCKS = ("stem",) + tuple(f"mixed{i}" for i in range(11))
INCEPTION_ENDPOINTS = INCEPTION_BLOCKS[1:]
INCEPTION_MIN_SIZE = 75


@dataclasses.dataclass(frozen=True)
class _ConvBN:
  """conv2d_bn(x, filters, rows, cols, padding, strides) of Keras's code."""
  filters: int
  rows: int
  cols: int
  strides: int = 1
  padding: str = "same"


_AVG = "avg"   # AveragePooling2D(3, strides=1, padding="same")
_MAX = "max"   # MaxPooling2D(3, strides=2), valid


@dataclasses.dataclass(frozen=True)
class _Split:
  """Two one-conv sub-branches on the same input, concatenated."""
  first: _ConvBN
  second: _ConvBN
  name: str | None = None   # None: Keras's automatic "concatenate"


def _mixed_35(pool_filters: int) -> list[list]:
  return [[_ConvBN(64, 1, 1)],
          [_ConvBN(48, 1, 1), _ConvBN(64, 5, 5)],
          [_ConvBN(64, 1, 1), _ConvBN(96, 3, 3), _ConvBN(96, 3, 3)],
          [_AVG, _ConvBN(pool_filters, 1, 1)]]


def _mixed_17(width: int) -> list[list]:
  return [[_ConvBN(192, 1, 1)],
          [_ConvBN(width, 1, 1), _ConvBN(width, 1, 7), _ConvBN(192, 7, 1)],
          [_ConvBN(width, 1, 1), _ConvBN(width, 7, 1), _ConvBN(width, 1, 7),
           _ConvBN(width, 7, 1), _ConvBN(192, 1, 7)],
          [_AVG, _ConvBN(192, 1, 1)]]


def _mixed_8(index: int) -> list[list]:
  return [[_ConvBN(320, 1, 1)],
          [_ConvBN(384, 1, 1), _Split(_ConvBN(384, 1, 3), _ConvBN(384, 3, 1),
                                    f"mixed9_{index}")],
          [_ConvBN(448, 1, 1), _ConvBN(384, 3, 3),
           _Split(_ConvBN(384, 1, 3), _ConvBN(384, 3, 1))],
          [_AVG, _ConvBN(192, 1, 1)]]


# Each block: a list of branches run on the block's input and concatenated
# (the stem is one branch, not concatenated). Order = Keras's code order.
_INCEPTION_SPEC: dict[str, list[list]] = {
    "stem": [[_ConvBN(32, 3, 3, 2, "valid"), _ConvBN(32, 3, 3, 1, "valid"),
              _ConvBN(64, 3, 3), _MAX, _ConvBN(80, 1, 1, 1, "valid"),
              _ConvBN(192, 3, 3, 1, "valid"), _MAX]],
    "mixed0": _mixed_35(32),
    "mixed1": _mixed_35(64),
    "mixed2": _mixed_35(64),
    "mixed3": [[_ConvBN(384, 3, 3, 2, "valid")],
               [_ConvBN(64, 1, 1), _ConvBN(96, 3, 3),
                _ConvBN(96, 3, 3, 2, "valid")],
               [_MAX]],
    "mixed4": _mixed_17(128),
    "mixed5": _mixed_17(160),
    "mixed6": _mixed_17(160),
    "mixed7": _mixed_17(192),
    "mixed8": [[_ConvBN(192, 1, 1), _ConvBN(320, 3, 3, 2, "valid")],
               [_ConvBN(192, 1, 1), _ConvBN(192, 1, 7), _ConvBN(192, 7, 1),
                _ConvBN(192, 3, 3, 2, "valid")],
               [_MAX]],
    "mixed9": _mixed_8(0),
    "mixed10": _mixed_8(1),
}

_INCEPTION_CHANNELS = {
    "mixed0": 256, "mixed1": 288, "mixed2": 288, "mixed3": 768,
    "mixed4": 768, "mixed5": 768, "mixed6": 768, "mixed7": 768,
    "mixed8": 1280, "mixed9": 2048, "mixed10": 2048}


def inception_output_shape(image_size: int, cut_at: str = "mixed10"
                 ) -> tuple[int, int, int]:
  """The base's output shape (h, w, channels) for square `image_size` input.

  Example: inception_output_shape(150, "mixed7") == (7, 7, 768).
  """
  def reduce(n):   # 3x3, stride 2, valid
    return (n - 3) // 2 + 1
  size = reduce(reduce(reduce(image_size) - 2) - 2)   # the stem: 35 at 299
  if INCEPTION_ENDPOINTS.index(cut_at) >= INCEPTION_ENDPOINTS.index("mixed3"):
    size = reduce(size)
  if INCEPTION_ENDPOINTS.index(cut_at) >= INCEPTION_ENDPOINTS.index("mixed8"):
    size = reduce(size)
  return size, size, _INCEPTION_CHANNELS[cut_at]


# A step of the forward program: x -> y, recording (layer, output) pairs.
_Step = Callable[[tf.Tensor, list], tf.Tensor]


class _Namer:
  """Keras's automatic names: conv2d, conv2d_1, conv2d_2, ..."""

  def __init__(self):
    self._counts = collections.Counter()

  def __call__(self, prefix: str) -> str:
    count = self._counts[prefix]
    self._counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _apply_layer(layer: Module, training: bool) -> _Step:
  def step(x, record):
    y = layer(x, training=training)
    record.append((layer, y))
    return y
  return step


class InceptionV3(Module):
  """Keras's InceptionV3 without its classifier, cut after any block.

  Attributes:
    layers: every layer in creation order (Keras's names).
    blocks: the block names it has, "stem" then "mixed0" ... `cut_at`.
  """

  def __init__(self, cut_at: str = "mixed10", name: str = "inception_v3",
               trainable: bool = True):
    """Creates the layers (variables come on the first call).

    Args:
      cut_at: the last block, one of mixed0 ... mixed10.
      name: module name.
      trainable: False freezes every layer (BatchNormalization included,
        which then runs in inference mode).

    Raises:
      ValueError: `cut_at` is not a block name.
    """
    super().__init__(name=name, trainable=trainable)
    if cut_at not in INCEPTION_ENDPOINTS:
      raise ValueError(
          f"{self.name}: cut_at must be one of "
          f"{', '.join(INCEPTION_ENDPOINTS)}, got {cut_at!r}.")
    self.cut_at = cut_at
    self.blocks = INCEPTION_BLOCKS[:INCEPTION_BLOCKS.index(cut_at) + 1]
    self._layers: list[Module] = []
    # Block -> (first, end) positions in _layers: indices, not a second
    # reference to the modules, so each has ONE path in checkpoints.
    self._block_ranges: dict[str, tuple[int, int]] = {}
    self._programs: dict[str, Callable[[tf.Tensor, list, bool],
                                       tf.Tensor]] = {}
    self.input_shape: tuple[int, ...] | None = None
    namer = _Namer()
    for block in self.blocks:
      start = len(self._layers)
      self._programs[block] = self._make_block(
          block, _INCEPTION_SPEC[block], namer)
      self._block_ranges[block] = (start, len(self._layers))
    if not trainable:
      freezing.set_trainable(self, False)

  # -- construction ----------------------------------------------------------

  def _add(self, layer: Module) -> Module:
    self._layers.append(layer)
    return layer

  def _make_conv(self, spec: _ConvBN, namer: _Namer):
    conv = self._add(Conv2D(spec.filters, (spec.rows, spec.cols),
                            strides=spec.strides, padding=spec.padding,
                            use_bias=False, name=namer("conv2d")))
    bn = self._add(BatchNormalization(scale=False,
                                      name=namer("batch_normalization")))
    act = self._add(Activation("relu", name=namer("activation")))
    return [conv, bn, act]

  def _make_step(self, item, namer: _Namer):
    """A function (x, record, training) -> y for one item of a branch."""
    if isinstance(item, _ConvBN):
      layers = self._make_conv(item, namer)
      return lambda x, record, training: _run_layers(
          layers, x, record, training)
    if isinstance(item, _Split):
      first = self._make_conv(item.first, namer)
      second = self._make_conv(item.second, namer)
      concat = self._add(Concatenate(name=item.name or namer("concatenate")))

      def split(x, record, training):
        a = _run_layers(first, x, record, training)
        b = _run_layers(second, x, record, training)
        return _apply_layer(concat, training)([a, b], record)
      return split
    if item == _AVG:
      pool = self._add(AveragePooling2D(3, strides=1, padding="same",
                                        name=namer("average_pooling2d")))
    else:
      pool = self._add(MaxPool2D(3, strides=2,
                                 name=namer("max_pooling2d")))
    return lambda x, record, training: _apply_layer(pool, training)(x, record)

  def _make_block(self, block: str, branches: list[list], namer: _Namer):
    programs = [[self._make_step(item, namer) for item in branch]
                for branch in branches]
    concat = (None if block == "stem"
              else self._add(Concatenate(name=block)))

    def run(x, record, training):
      outputs = []
      for steps in programs:
        y = x
        for step in steps:
          y = step(y, record, training)
        outputs.append(y)
      if concat is None:
        return outputs[0]
      return _apply_layer(concat, training)(outputs, record)
    return run

  # -- properties ------------------------------------------------------------

  @property
  def layers(self) -> list[Module]:
    """Every layer, in creation order (a copy)."""
    return list(self._layers)

  def block_layers(self, block: str) -> list[Module]:
    """The layers of one block ("stem", "mixed0", ...), creation order."""
    first, end = self._block_ranges[block]
    return self._layers[first:end]

  def unfreeze_from(self, block: str) -> None:
    """Freezes the blocks before `block` and unfreezes it and later ones.

    Raises:
      ValueError: `block` is not one of this network's blocks.
    """
    if block not in self.blocks:
      raise ValueError(
          f"{self.name}: cannot fine-tune from {block!r}; this network has "
          f"blocks {', '.join(self.blocks)}.")
    self.trainable = True
    first = self.blocks.index(block)
    for index, name in enumerate(self.blocks):
      for layer in self.block_layers(name):
        freezing.set_trainable(layer, index >= first)

  def _first_trainable_block(self) -> int:
    """Index of the first block with a trainable layer (len if none)."""
    if not self.trainable:
      return len(self.blocks)
    for index, name in enumerate(self.blocks):
      if any(layer.trainable and layer.variables
             for layer in self.block_layers(name)):
        return index
    return len(self.blocks)

  # -- forward ---------------------------------------------------------------

  def _build(self, x: tf.Tensor) -> None:
    if x.shape.rank != 4 or x.shape[-1] != 3:
      raise ValueError(
          f"{self.name}: expects RGB images (batch, height, width, 3), got "
          f"shape {x.shape}.")
    height, width = x.shape[1], x.shape[2]
    if (height is not None and height < INCEPTION_MIN_SIZE) or (
        width is not None and width < INCEPTION_MIN_SIZE):
      raise ValueError(
          f"{self.name}: images must be at least "
          f"{INCEPTION_MIN_SIZE}x{INCEPTION_MIN_SIZE}, got "
          f"{height}x{width}; use a larger --image_size.")
    if self.input_shape is None:
      self.input_shape = tuple(x.shape[1:].as_list())

  def _forward(self, x, training, record: list,
               blocks: list | None = None) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    self._build_once(x)
    frozen_until = self._first_trainable_block()
    for index, block in enumerate(self.blocks):
      if index == frozen_until:
        x = tf.stop_gradient(x)   # a frozen prefix costs no backward pass
      x = self._programs[block](x, record, training)
      if blocks is not None:
        blocks.append((block, x))
    if frozen_until == len(self.blocks):
      x = tf.stop_gradient(x)
    return x

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """The output of the last block (`cut_at`)."""
    return self._forward(x, training, [])

  def intermediate_outputs(self, x, training: bool = False
                           ) -> list[tuple[Module, tf.Tensor]]:
    """(layer, output) of every layer, in the order they run."""
    record: list = []
    self._forward(x, training, record)
    return record

  def block_outputs(self, x, training: bool = False
                    ) -> list[tuple[str, tf.Tensor]]:
    """(block name, output) of the stem and each mixed block."""
    blocks: list = []
    self._forward(x, training, [], blocks)
    return blocks

  def build(self, input_shape: Sequence[int | None],
            dtype: tf.DType = tf.float32) -> None:
    """Creates every variable by calling the network once on zeros.

    Args:
      input_shape: one image's shape without the batch dim, e.g. (150, 150,
        3).
      dtype: the input dtype.
    """
    self.input_shape = tuple(input_shape)
    self(tf.zeros([1, *input_shape], dtype))

  def summary(self, input_shape: Sequence[int | None] | None = None,
              dtype: tf.DType = tf.float32,
              print_fn: Callable[[str], None] | None = print) -> str:
    """Prints and returns the layer table (Keras's names) and totals."""
    return summary_table.print_summary(
        self, input_shape or self.input_shape, dtype, print_fn)


def _run_layers(layers: list[Module], x, record: list, training: bool):
  for layer in layers:
    x = _apply_layer(layer, training)(x, record)
  return x


# -- transfer learning (course 2 week 3) -------------------------------------

PRETRAINED_ENTRY = "inception-v3-notop"
FEATURES = "features"
BASE_LEARNING_RATE_FACTOR = 0.1


class TransferModel(Sequential):
  """A pretrained base followed by a classifier head.

  Called on images it runs the base (always in inference mode, so its
  BatchNormalization statistics never move) and then the head; called on
  `{"features": base_output}` it runs the head alone (cached features).

  """

  def __init__(self, base: InceptionV3, head: list[Module],
               name: str = "transfer"):
    super().__init__([base, *head], name=name)

  @property
  def base(self) -> InceptionV3:
    """The pretrained base (the first layer)."""
    return self._layers[0]

  def intermediate_outputs(self, x, training: bool = False):
    """(layer, output) per top-level layer; features skip the base."""
    if isinstance(x, Mapping):
      features = tf.convert_to_tensor(x[FEATURES])
      outputs = []
      for layer in self._layers[1:]:
        features = layer(features, training=training)
        outputs.append((layer, features))
      return outputs
    x = tf.convert_to_tensor(x)
    self._build_once(x)
    y = self.base(x, training=False)
    outputs = [(self.base, y)]
    for layer in self._layers[1:]:
      y = layer(y, training=training)
      outputs.append((layer, y))
    return outputs

  def learning_rate_multipliers(self) -> list[tuple[Module, float]]:
    """(module, factor) pairs: the unfrozen base learns 10x slower."""
    if self.base.trainable and self.base.trainable_variables:
      return [(self.base, BASE_LEARNING_RATE_FACTOR)]
    return []


def transfer_head(dropout: float = 0.2) -> list[Module]:
  """Flatten -> Dense 1024 relu -> Dropout -> Dense 1 sigmoid."""
  return [Flatten(), Dense(1024, activation="relu"), Dropout(dropout),
          Dense(1, activation="sigmoid")]


def check_transfer_options(hparams: Mapping[str, Any]) -> None:
  """Rejects contradictory transfer options (one line, names both).

  Raises:
    DataError: an unknown block, or cache_features with augmentation or
      fine-tuning.
  """
  cut_at = hparams["cut_at"]
  if cut_at not in INCEPTION_ENDPOINTS:
    raise DataError(f"cut_at={cut_at!r} is not an Inception block; use one "
                    f"of {', '.join(INCEPTION_ENDPOINTS)}")
  fine = hparams["fine_tune_from"]
  blocks = INCEPTION_BLOCKS[:INCEPTION_BLOCKS.index(cut_at) + 1]
  if fine and fine not in blocks:
    raise DataError(f"fine_tune_from={fine!r} is not a block of the base "
                    f"cut at {cut_at}; use one of {', '.join(blocks)}")
  if hparams["cache_features"] and (hparams["augment"] or fine):
    raise DataError("cache_features=true needs a frozen base and no "
                    "augmentation; set augment=false and fine_tune_from=''")


def build_transfer_model(hparams: Mapping[str, Any]) -> TransferModel:
  """The base (built, frozen or fine-tuned from a block) plus the head."""
  check_transfer_options(hparams)
  base = InceptionV3(cut_at=hparams["cut_at"])
  size = int(hparams["image_size"])
  base.build([size, size, 3])
  if hparams["fine_tune_from"]:
    base.unfreeze_from(hparams["fine_tune_from"])
  else:
    freezing.set_trainable(base, False)
  return TransferModel(base, transfer_head(hparams["dropout"]),
                       name="transfer")


def pretrained_path(hparams: Mapping[str, Any]) -> str | None:
  """The base's weights file: the given one, else the cached download.

  Raises:
    DataError: the given file is missing, or the download fails (offline:
      the message names the file and where to put it).
  """
  if not hparams["pretrained"]:
    return None
  return keras_weights.locate_weights_file(hparams["pretrained_weights"],
                                           PRETRAINED_ENTRY)


def load_base_weights(base: InceptionV3, path: str) -> int:
  """Loads a Keras InceptionV3 weights file into `base` (all or nothing).

  The file may hold more blocks than the base (the full network's file
  into a base cut at mixed7). Returns the number of arrays loaded.
  """
  return weight_transfer.assign_keras_layers(
      base, keras_weights.read_layers(path), allow_extra=True)


# -- cached bottleneck features ----------------------------------------------


class FeatureCache:
  """The frozen base's outputs for every training (and validation) image,
  computed once and kept in memory as float32 tensors.

  Epoch `e` yields the examples in the order the image-folder pipeline
  would (`data.augment.epoch_order(n, seed, e)`), so training on the cache
  takes the same steps as training through the base; each batch is a
  gather from the stored tensor (no per-epoch copy of the cache).
  Validation batches are the validation pipeline's batches, in order.
  """

  def __init__(self, images_fn, batch_size: int, seed: int,
               feature_shape: tuple[int, ...], label_spec: tf.TensorSpec,
               validation: tf.data.Dataset | None = None):
    self._images_fn = images_fn
    self._batch_size = batch_size
    self._seed = seed
    self._feature_shape = feature_shape
    self._label_spec = label_spec
    self._validation = validation
    self.features: tf.Tensor | None = None
    self.labels: tf.Tensor | None = None
    self.validation_batches: list[tuple[np.ndarray, np.ndarray]] = []
    self._first_order: np.ndarray | None = None

  def compute(self, base: Module) -> None:
    """Runs `base` once over epoch 0's images (in inference mode) and over
    the validation batches."""
    forward = tf.function(lambda x: base(x, training=False))
    features, labels = [], []
    for images, batch_labels in self._images_fn(0):
      features.append(forward(images).numpy())
      labels.append(batch_labels.numpy())
    with tf.device("/CPU:0"):
      self.features = tf.constant(np.concatenate(features))
      self.labels = tf.constant(np.concatenate(labels))
    count = int(self.features.shape[0])
    # Row j of the cache is example order0[j]; `where[i]` finds example i.
    self._first_order = augment.epoch_order(count, self._seed, 0)
    if self._validation is not None:
      self.validation_batches = [
          (forward(images).numpy(), batch_labels.numpy())
          for images, batch_labels in self._validation]

  def dataset(self, epoch: int) -> tf.data.Dataset:
    """Epoch `epoch` of ({"features": f}, labels) batches.

    Before `compute` it is one zero batch with the right spec, enough to
    build the model.
    """
    if self.features is None:
      zeros = np.zeros([1, *self._feature_shape], np.float32)
      label = np.zeros([1, *self._label_spec.shape[1:]],
                       self._label_spec.dtype.as_numpy_dtype)
      return tf.data.Dataset.from_tensors(({FEATURES: zeros}, label))
    count = int(self.features.shape[0])
    where = np.empty(count, np.int64)
    where[self._first_order] = np.arange(count)
    rows = where[augment.epoch_order(count, self._seed, epoch)]
    features, labels = self.features, self.labels
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(self._batch_size)
    dataset = dataset.map(lambda batch: ({FEATURES: tf.gather(features, batch)},
                                         tf.gather(labels, batch)))
    return dataset.prefetch(tf.data.AUTOTUNE)

  def validation_dataset(self) -> tf.data.Dataset:
    """The validation batches as ({"features": f}, labels), read from the
    cache when iterated (so it can be made before `compute`)."""

    def batches():
      if self._validation is not None and not self.validation_batches:
        raise RuntimeError("FeatureCache: validation features are read "
                           "before compute(); train first")
      for features, labels in self.validation_batches:
        yield {FEATURES: features}, labels

    label_spec = tf.TensorSpec([None, *self._label_spec.shape[1:]],
                               self._label_spec.dtype)
    return tf.data.Dataset.from_generator(batches, output_signature=(
        {FEATURES: tf.TensorSpec([None, *self._feature_shape], tf.float32)},
        label_spec))


class TransferStartHook(Hook):
  """At the first epoch this process trains: pretrained weights, cache.

  The pretrained file is loaded only into a fresh run (no checkpoint in
  model_dir yet), so a resumed or imported run keeps its own weights.
  """

  def __init__(self, weights_path: str | None, cache: FeatureCache | None):
    self.weights_path = weights_path
    self.cache = cache
    self.done = False

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    if self.done:
      return
    base = trainer.model.base
    fresh = trainer.checkpoint is None or trainer.checkpoint.latest is None
    if self.weights_path and fresh:
      count = load_base_weights(base, self.weights_path)
      if trainer.print_fn:
        trainer.print_fn(f"loaded {count} pretrained arrays from "
                         f"{self.weights_path}")
    if self.cache is not None:
      self.cache.compute(base)
    self.done = True


class CachedFeaturesBundle(DataBundle):
  """Trains on cached features; `element_spec` stays the images' spec.

  The trainer builds from `train(0)` (features); what model_dir records
  for predict/evaluate is the image input (`image_spec`).
  """

  image_spec: Any = None

  @property
  def element_spec(self):
    """The (images, labels) spec inference binaries feed the model."""
    return self.image_spec


@dataclasses.dataclass
class TransferInfo(ImageInfo):
  """The image bundle's info plus what the start-of-training hook needs.

  Attributes:
    pretrained_weights: the base's Keras weights file, or None.
    feature_cache: the FeatureCache when training on cached features.
  """

  pretrained_weights: str | None = None
  feature_cache: FeatureCache | None = None


# -- transfer recipes ---------------------------------------------------------


def make_transfer_data(hparams: Mapping[str, Any], *,
                       source: Recipe) -> DataBundle:
  """The source recipe's image folders; cached features when asked.

  Args:
    hparams: the transfer recipe's hyper-parameters.
    source: the image recipe whose data builder reads the images (e.g.
      CATS_DOGS_CNN).

  Raises:
    DataError: bad options, folders, or a missing pretrained file.
  """
  check_transfer_options(hparams)
  bundle = source.make_data(hparams)
  fields = {f.name: getattr(bundle.info, f.name)
            for f in dataclasses.fields(bundle.info)}
  info = TransferInfo(**fields, pretrained_weights=pretrained_path(hparams))
  bundle.info = info
  if not hparams["cache_features"]:
    return bundle
  size = int(hparams["image_size"])
  info.feature_cache = FeatureCache(
      bundle.train, int(hparams["batch_size"]), int(hparams["seed"]),
      inception_output_shape(size, hparams["cut_at"]),
      bundle.element_spec[1], validation=bundle.validation)
  validation = (None if bundle.validation is None
                else info.feature_cache.validation_dataset())
  cached = CachedFeaturesBundle(
      train=info.feature_cache.dataset, validation=validation,
      steps_per_epoch=bundle.steps_per_epoch, info=info,
      artifacts=bundle.artifacts)
  cached.image_spec = bundle.element_spec
  return cached


def transfer_hooks(hparams: Mapping[str, Any], data, *,
                   source: Recipe) -> list[Hook]:
  """The source recipe's hooks plus the pretrained-weights/cache hook."""
  hooks = list(source.extra_hooks(hparams, data)) if source.extra_hooks else []
  info = data.info
  return hooks + [TransferStartHook(
      getattr(info, "pretrained_weights", None),
      getattr(info, "feature_cache", None))]


def _transfer_recipe(name: str, description: str, source: Recipe,
                     **hparams: Any) -> Recipe:
  return register(Recipe(
      name=name, description=description, build_model=build_transfer_model,
      make_data=functools.partial(make_transfer_data, source=source),
      read_validation=source.read_validation,
      loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
      hparams=_folder_hparams(
          learning_rate=1e-4, batch_size=20, epochs=20, cut_at="mixed7",
          pretrained=True, pretrained_weights="", fine_tune_from="",
          cache_features=False, dropout=0.2, **hparams),
      target=("accuracy", 0.999), input_shape=_folder_input,
      extra_hooks=functools.partial(transfer_hooks, source=source)))


HORSE_HUMAN_TRANSFER = _transfer_recipe(
    "horse_human_transfer",
    "InceptionV3 (ImageNet, frozen, cut at mixed7) + Dense 1024 + sigmoid "
    "on 150x150 horses or humans; stops at 99.9% accuracy (course 2 week 3)",
    HORSE_HUMAN_CNN)

CATS_DOGS_TRANSFER = _transfer_recipe(
    "cats_dogs_transfer",
    "InceptionV3 (ImageNet, frozen, cut at mixed7) + Dense 1024 + sigmoid "
    "on 150x150 cats or dogs, augmented; stops at 99.9% accuracy "
    "(course 2 week 3)", CATS_DOGS_CNN, augment=True)


# == Serving (trainers.export): raw images in, classes out ====================


class ImageClassifierServing(export.ClassifierServing):
  """Encoded images or float pixels -> probabilities, class ids and names.

  Args:
    model: the trained image classifier.
    input_shape: (height, width, channels) it was trained on.
    class_names: name per class id.
    num_outputs: the model's output width (1 for a sigmoid).
    rescale: the training pipeline's pixel factor.
  """

  def __init__(self, model, input_shape: Sequence[int],
               class_names: Sequence[str], num_outputs: int,
               rescale: float):
    super().__init__(model, class_names, num_outputs, True,
                     name="image_classifier")
    height, width, channels = (int(v) for v in input_shape)
    self.image_size, self.channels = (height, width), channels
    self.rescale = float(rescale)
    self.classify_images = tf.function(
        self._classify_images,
        input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    self.classify_pixels = tf.function(
        self._outputs, input_signature=[tf.TensorSpec(
            [None, height, width, channels], tf.float32, name="pixels")])
    self.model_input = tf.function(
        lambda pixels: self.model(pixels, training=False),
        input_signature=[tf.TensorSpec([None, height, width, channels],
                                       tf.float32, name="pixels")])

  def _classify_images(self, images):
    pixels = image_serving.decode_images(images, self.image_size,
                                         self.channels, self.rescale)
    return self._outputs(pixels)

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.classify_images.get_concrete_function(),
            "classify_pixels": self.classify_pixels.get_concrete_function()}
