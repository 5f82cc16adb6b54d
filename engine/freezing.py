"""Freezing and unfreezing whole module trees.

`module.trainable = False` on a container already removes its variables
from `trainable_variables`; `set_trainable` also sets the flag of every
sub-module, which layers such as BatchNormalization read to decide how
they run (a frozen BN uses its moving statistics, as in Keras).

Example:

  set_trainable(base, False)     # the course's `layer.trainable = False`
"""

from __future__ import annotations

import tensorflow as tf


def set_trainable(module: tf.Module, trainable: bool) -> None:
  """Sets `trainable` on `module` and on every module below it."""
  for item in (module, *module.submodules):
    if hasattr(item, "trainable"):
      item.trainable = bool(trainable)
