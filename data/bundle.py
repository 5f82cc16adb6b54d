"""What a dataset builder hands to the training loop."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import tensorflow as tf


@dataclasses.dataclass
class DataBundle:
  """Training and validation input for one model, plus what inference needs.

  Attributes:
    train: `epoch -> tf.data.Dataset` of batched `(features, labels)`. The
      order within an epoch depends only on (seed, epoch), so a resumed run
      can rebuild the epoch and skip the batches it already trained on.
    validation: batched `(features, labels)` dataset, or None.
    steps_per_epoch: batches per epoch when known (None: counted on the fly).
    extras: domain data for other binaries (e.g. the raw series for
      forecasting, class names for prediction).
    artifacts: file name -> text content to store in model_dir so that
      evaluate/predict need nothing but model_dir (e.g. a vocabulary).
  """

  train: Callable[[int], tf.data.Dataset]
  validation: tf.data.Dataset | None = None
  steps_per_epoch: int | None = None
  extras: dict[str, Any] = dataclasses.field(default_factory=dict)
  artifacts: dict[str, str] = dataclasses.field(default_factory=dict)

  @property
  def element_spec(self):
    """The (features, labels) spec of one training batch."""
    return self.train(0).element_spec
