"""What a dataset builder hands to the training loop: the `DataBundle`.

The data contract between `data/` and the recipes in `models/`: batches for
training and validation, and a typed `info` (a `DataInfo`, or the domain's
subclass: `data.series.pipeline.SeriesInfo`, `data.images.bundles.ImageInfo`,
`data.text.pipelines.TextInfo`) saying what the data told about itself.
Builders never change the hyper-parameters they are given; a size the data
fixes (a vocabulary) is `info.vocab_size`, which the trainers merge into the
hyper-parameters of the model they build (`model_hparams`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class DataInfo:
  """What every bundle says about its data.

  Attributes:
    class_names: name per output id of a classifier ([] otherwise).
    vocab_size: the model's input vocabulary when the data fixes it (ids
      0..vocab_size-1), else None.
  """

  class_names: list[str] = dataclasses.field(default_factory=list)
  vocab_size: int | None = None
  # True when `vocab_size` is what the model must use whatever the
  # hyper-parameter asked (a learned subword vocabulary may fall short).
  data_sets_vocab_size: ClassVar[bool] = False


# The chain of epochs ends here; a run never gets this far.
_LAST_EPOCH = 2**62


class EpochData:
  """`epoch -> dataset` whose epochs also chain into ONE dataset.

  Built from `one_epoch(epoch)`, a function of an int64 scalar TENSOR (it
  must be traceable: seeds and orders computed from the tensor), so that
  `data(e)` and `data.epochs_from(e)` run the very same code, and the
  chain yields exactly the batches of `data(e)`, `data(e + 1)`, ... The
  trainer (engine.trainer.Trainer.fit) iterates the chain with one iterator
  for the whole run instead of building a dataset and an iterator for every
  epoch; a resume rebuilds the chain from the epoch and skips the batches
  already trained on.

  Example:
    train = EpochData(lambda epoch: pairs.shuffle(1000, seed=epoch))
    train(3)                 # epoch 3's batches
    train.epochs_from(3)     # epochs 3, 4, 5, ... one after the other
  """

  def __init__(self, one_epoch: Callable[[tf.Tensor], tf.data.Dataset]):
    self._one_epoch = one_epoch
    self._element_spec = None

  @property
  def element_spec(self):
    """The spec of one batch, worked out once (building an epoch's dataset
    costs tens of milliseconds, which every `fit` call would pay)."""
    if self._element_spec is None:
      self._element_spec = self(0).element_spec
    return self._element_spec

  def __call__(self, epoch: int) -> tf.data.Dataset:
    return self._one_epoch(tf.constant(epoch, tf.int64))

  def epochs_from(self, epoch: int) -> tf.data.Dataset:
    """Every epoch from `epoch` on, one after the other."""
    return tf.data.Dataset.range(epoch, _LAST_EPOCH).flat_map(self._one_epoch)

  def take(self, batches: int) -> EpochData:
    """The first `batches` batches of each epoch, still chained: a reduced
    size (a benchmark, a quick check) keeps the one-iterator path.

    Example: `train.take(50)(3)` is `train(3).take(50)`.
    """
    one_epoch = self._one_epoch
    return EpochData(lambda epoch: one_epoch(epoch).take(batches))


def epoch_order_tensor(order_fn: Callable[[int], Any], epoch: tf.Tensor,
                       count: int) -> tf.Tensor:
  """`order_fn(epoch)` (a NumPy permutation of range(count)) for an epoch
  given as a tensor: int64 [count], computed when the dataset runs, so an
  `EpochData` keeps NumPy's seeded orders."""
  order = tf.numpy_function(
      lambda e: np.asarray(order_fn(int(e)), np.int64), [epoch], tf.int64,
      stateful=False)
  return tf.ensure_shape(order, [count])


def stateless_epoch_order(seed: int, epoch: tf.Tensor, count: int,
                          local: int | None = None) -> tf.Tensor:
  """A permutation of range(count) that is a pure function of (seed, epoch).

  Stateless random keys (`tf.random.stateless_uniform`, Philox: the same on
  every CPU), argsorted: no stateful shuffle op, so neither the global seed
  nor the op seed rules of `Dataset.shuffle` play a part, and it traces with
  `epoch` as a tensor (an `EpochData` epoch).

  Args:
    seed: the run's seed.
    epoch: int scalar (tensor or int).
    count: elements to order.
    local: a shuffle buffer's size: below `count`, each element moves about
      `local` places at most, as with `Dataset.shuffle(local)`; None or
      >= count gives a uniform permutation.

  Returns:
    int64 [count].
  """
  pair = tf.stack([tf.constant(int(seed), tf.int64),
                   tf.cast(epoch, tf.int64)])
  keys = tf.random.stateless_uniform([count], seed=pair, dtype=tf.float32)
  if local is not None and local < count:
    keys = tf.range(count, dtype=tf.float32) + keys * float(local)
  return tf.cast(tf.argsort(keys, stable=True), tf.int64)


@dataclasses.dataclass
class DataBundle:
  """Training and validation input for one model, plus what inference needs.

  Attributes:
    train: `epoch -> tf.data.Dataset` of batched `(features, labels)`. The
      order within an epoch depends only on (seed, epoch), so a resumed run
      can rebuild the epoch and skip the batches it already trained on.
    validation: batched `(features, labels)` dataset, or None.
    steps_per_epoch: batches per epoch when known (None: counted on the fly).
    info: what the data told (class names, vocabulary, series, ...).
    artifacts: file name -> text content to store in model_dir so that
      later binaries need nothing but model_dir (e.g. a vocabulary).
  """

  train: Callable[[int], tf.data.Dataset]
  validation: tf.data.Dataset | None = None
  steps_per_epoch: int | None = None
  info: DataInfo = dataclasses.field(default_factory=DataInfo)
  artifacts: dict[str, str] = dataclasses.field(default_factory=dict)

  @property
  def element_spec(self):
    """The (features, labels) spec of one training batch."""
    return self.train(0).element_spec


def model_hparams(hparams: Mapping[str, Any], info: DataInfo
                  ) -> dict[str, Any]:
  """A copy of `hparams` with the sizes the data fixed filled in.

  A vocab_size left None ("what the data gives") becomes the data's
  `info.vocab_size`; a value the user set is kept, unless the data fixes
  the size (`info.data_sets_vocab_size`: a learned subword vocabulary,
  which may fall short of the size asked for). The result is what
  the model is built from and what config.json records, so a restored
  model gets the same sizes without reading the data again.
  """
  merged = dict(hparams)
  if info.vocab_size is not None and (merged.get("vocab_size") is None
                                      or info.data_sets_vocab_size):
    merged["vocab_size"] = int(info.vocab_size)
  return merged
