"""The course's transfer-learning models (course 2 week 3) and their registry.

Registered names (the CLI contract):

* `horse_human_transfer`: InceptionV3 (ImageNet weights, frozen, cut at
  `mixed7`) + Flatten, Dense 1024 relu, Dropout 0.2, Dense 1 sigmoid on
  150x150 horses or humans; RMSprop(1e-4), binary cross-entropy, stops at
  99.9% training accuracy;
* `cats_dogs_transfer`: the same on cats vs dogs, augmented as the course.

Hyper-parameters beyond the image-folder ones (see `models.vision`):

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
  runs once over the training images and the head trains on the stored
  `cut_at` features, so an epoch costs only the head.

The pretrained weights are loaded, and the features cached, by a hook at the
start of training: a run resumed from model_dir keeps its checkpoint's
weights, and predict/evaluate never need the pretrained file.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from data.images import augment
from data import catalog
from data import download
from data import keras_weights
from data.bundle import DataBundle
from data.errors import DataError
from data.images.info import ImageInfo
from engine import freezing
from engine import weight_transfer
from engine.hooks import Hook
from engine.module import Module
from engine.modules.basic import Dropout, Flatten
from engine.modules.dense import Dense
from engine.modules.sequential import Sequential
from models import inception
from models import registry
from models.registry import Recipe, register

PRETRAINED_ENTRY = "inception-v3-notop"
FEATURES = "features"
BASE_LEARNING_RATE_FACTOR = 0.1


class TransferModel(Sequential):
  """A pretrained base followed by a classifier head.

  Called on images it runs the base (always in inference mode, so its
  BatchNormalization statistics never move) and then the head; called on
  `{"features": base_output}` it runs the head alone (cached features).

  """

  def __init__(self, base: inception.InceptionV3, head: list[Module],
               name: str = "transfer"):
    super().__init__([base, *head], name=name)

  @property
  def base(self) -> inception.InceptionV3:
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


def course_head(dropout: float = 0.2) -> list[Module]:
  """Flatten -> Dense 1024 relu -> Dropout -> Dense 1 sigmoid."""
  return [Flatten(), Dense(1024, activation="relu"), Dropout(dropout),
          Dense(1, activation="sigmoid")]


def check_options(hparams: Mapping[str, Any]) -> None:
  """Rejects contradictory transfer options (one line, names both).

  Raises:
    DataError: an unknown block, or cache_features with augmentation or
      fine-tuning.
  """
  cut_at = hparams["cut_at"]
  if cut_at not in inception.ENDPOINTS:
    raise DataError(f"cut_at={cut_at!r} is not an Inception block; use one "
                    f"of {', '.join(inception.ENDPOINTS)}")
  fine = hparams["fine_tune_from"]
  blocks = inception.BLOCKS[:inception.BLOCKS.index(cut_at) + 1]
  if fine and fine not in blocks:
    raise DataError(f"fine_tune_from={fine!r} is not a block of the base "
                    f"cut at {cut_at}; use one of {', '.join(blocks)}")
  if hparams["cache_features"] and (hparams["augment"] or fine):
    raise DataError("cache_features=true needs a frozen base and no "
                    "augmentation; set augment=false and fine_tune_from=''")


def build_transfer_model(hparams: Mapping[str, Any]) -> TransferModel:
  """The base (built, frozen or fine-tuned from a block) plus the head."""
  check_options(hparams)
  base = inception.InceptionV3(cut_at=hparams["cut_at"])
  size = int(hparams["image_size"])
  base.build([size, size, 3])
  if hparams["fine_tune_from"]:
    base.unfreeze_from(hparams["fine_tune_from"])
  else:
    freezing.set_trainable(base, False)
  return TransferModel(base, course_head(hparams["dropout"]),
                       name="transfer")


def pretrained_path(hparams: Mapping[str, Any]) -> str | None:
  """The base's weights file: the given one, else the cached download.

  Raises:
    DataError: the given file is missing, or the download fails (offline:
      the message names the file and where to put it).
  """
  if not hparams["pretrained"]:
    return None
  path = hparams["pretrained_weights"]
  if path:
    if not tf.io.gfile.exists(path):
      raise DataError(f"pretrained_weights={path} does not exist; give the "
                      f"path of {catalog.get(PRETRAINED_ENTRY).filename}")
    return path
  return download.fetch_entry(PRETRAINED_ENTRY)


def load_base_weights(base: inception.InceptionV3, path: str) -> int:
  """Loads a Keras InceptionV3 weights file into `base` (all or nothing).

  The file may hold more blocks than the base (the full network's file
  into a base cut at mixed7). Returns the number of arrays loaded.
  """
  return weight_transfer.assign_keras_layers(
      base, keras_weights.read_layers(path), allow_extra=True)


# -- cached bottleneck features -------------------------------------------------


class FeatureCache:
  """The frozen base's outputs for every training image, computed once.

  Epoch `e` yields the examples in the order the image-folder pipeline
  would (`data.augment.epoch_order(n, seed, e)`), so training on the cache
  takes the same steps as training through the base.
  """

  def __init__(self, images_fn, batch_size: int, seed: int,
               feature_shape: tuple[int, ...], label_spec: tf.TensorSpec):
    self._images_fn = images_fn
    self._batch_size = batch_size
    self._seed = seed
    self._feature_shape = feature_shape
    self._label_spec = label_spec
    self.features: np.ndarray | None = None
    self.labels: np.ndarray | None = None
    self._first_order: np.ndarray | None = None

  def compute(self, base: Module) -> None:
    """Runs `base` once over epoch 0's images (in inference mode)."""
    forward = tf.function(lambda x: base(x, training=False))
    features, labels = [], []
    for images, batch_labels in self._images_fn(0):
      features.append(forward(images).numpy())
      labels.append(batch_labels.numpy())
    self.features = np.concatenate(features)
    self.labels = np.concatenate(labels)
    count = len(self.features)
    # Row j of the cache is example order0[j]; `where[i]` finds example i.
    self._first_order = augment.epoch_order(count, self._seed, 0)

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
    count = len(self.features)
    where = np.empty(count, np.int64)
    where[self._first_order] = np.arange(count)
    rows = where[augment.epoch_order(count, self._seed, epoch)]
    dataset = tf.data.Dataset.from_tensor_slices(
        ({FEATURES: self.features[rows]}, self.labels[rows]))
    return dataset.batch(self._batch_size).prefetch(tf.data.AUTOTUNE)


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


# -- recipes ------------------------------------------------------------------------


def make_transfer_data(hparams: Mapping[str, Any], *,
                       source_model: str) -> DataBundle:
  """The source recipe's image folders; cached features when asked.

  Args:
    hparams: the transfer recipe's hyper-parameters.
    source_model: the registered model whose data builder reads the
      images (e.g. cats_dogs_cnn).

  Raises:
    DataError: bad options, folders, or a missing pretrained file.
  """
  check_options(hparams)
  bundle = registry.get(source_model).make_data(hparams)
  fields = {f.name: getattr(bundle.info, f.name)
            for f in dataclasses.fields(bundle.info)}
  info = TransferInfo(**fields, pretrained_weights=pretrained_path(hparams))
  bundle.info = info
  if not hparams["cache_features"]:
    return bundle
  size = int(hparams["image_size"])
  info.feature_cache = FeatureCache(
      bundle.train, int(hparams["batch_size"]), int(hparams["seed"]),
      inception.output_shape(size, hparams["cut_at"]),
      bundle.element_spec[1])
  cached = CachedFeaturesBundle(
      train=info.feature_cache.dataset, validation=bundle.validation,
      steps_per_epoch=bundle.steps_per_epoch, info=info,
      artifacts=bundle.artifacts)
  cached.image_spec = bundle.element_spec
  return cached


def transfer_hooks(hparams: Mapping[str, Any], data, *,
                   source_model: str) -> list[Hook]:
  """The source recipe's hooks plus the pretrained-weights/cache hook."""
  source = registry.get(source_model)
  hooks = list(source.extra_hooks(hparams, data)) if source.extra_hooks else []
  info = data.info
  return hooks + [TransferStartHook(
      getattr(info, "pretrained_weights", None),
      getattr(info, "feature_cache", None))]


def _image_input(hparams: Mapping[str, Any]):
  size = int(hparams["image_size"])
  return (size, size, 3), tf.float32


def _transfer_hparams(**overrides: Any) -> dict[str, Any]:
  hparams = {"learning_rate": 1e-4, "batch_size": 20, "epochs": 20,
             "seed": 42, "data_path": None, "validation_dir": None,
             "validation_split": 0.0, "image_size": 150, "augment": False,
             "strict_data": False, "cut_at": "mixed7", "pretrained": True, "pretrained_weights": "",
             "fine_tune_from": "", "cache_features": False, "dropout": 0.2}
  hparams.update(overrides)
  return hparams


def _transfer_recipe(name: str, description: str, source_model: str,
                     **hparams: Any) -> Recipe:
  return register(Recipe(
      name=name, description=description, build_model=build_transfer_model,
      make_data=functools.partial(make_transfer_data,
                                  source_model=source_model),
      loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop",
      hparams=_transfer_hparams(**hparams), target=("accuracy", 0.999),
      input_shape=_image_input,
      extra_hooks=functools.partial(transfer_hooks,
                                    source_model=source_model)))


HORSE_HUMAN_TRANSFER = _transfer_recipe(
    "horse_human_transfer",
    "InceptionV3 (ImageNet, frozen, cut at mixed7) + Dense 1024 + sigmoid "
    "on 150x150 horses or humans; stops at 99.9% accuracy (course 2 week 3)",
    "horse_human_cnn")

CATS_DOGS_TRANSFER = _transfer_recipe(
    "cats_dogs_transfer",
    "InceptionV3 (ImageNet, frozen, cut at mixed7) + Dense 1024 + sigmoid "
    "on 150x150 cats or dogs, augmented; stops at 99.9% accuracy "
    "(course 2 week 3)", "cats_dogs_cnn", augment=True)
