"""Activation: an activation function as a layer of its own (Keras's)."""

from __future__ import annotations

import tensorflow as tf

from engine import activations
from engine.module import Module


class Activation(Module):
  """Applies a named or callable activation, e.g. after a BatchNormalization.

  Example:

    Activation("relu")(tf.constant([-1.0, 2.0]))  # [0., 2.]
  """

  def __init__(self, activation, name: str | None = None):
    """Creates the layer.

    Args:
      activation: name or callable (see `engine.activations`).
      name: module name (default "activation").
    """
    super().__init__(name=name or "activation")
    self.activation = activations.get(activation)

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Returns `activation(x)`; `training` is ignored."""
    return self.activation(self.autocast(x))
