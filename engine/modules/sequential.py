"""Sequential: a stack of modules, each fed the previous one's output."""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import tensorflow as tf

from engine import summary_table
from engine.module import Module


class Sequential(Module):
  """Calls its layers in order, passing `training` to each.

  Example:

    model = Sequential([Flatten(), Dense(128, activation="relu"), Dense(10)])
    model.build([28, 28])
    model.summary()
    logits = model(images, training=True)
  """

  def __init__(self, layers: Iterable[tf.Module] = (),
               name: str | None = None, trainable: bool = True):
    """Creates the stack.

    Args:
      layers: the modules, first to last.
      name: module name (default "sequential").
      trainable: False freezes every layer.

    Raises:
      TypeError: an item of `layers` is not a module.
    """
    super().__init__(name=name or "sequential", trainable=trainable)
    self._layers: list[tf.Module] = []
    self.input_shape: tuple[int | None, ...] | None = None
    for layer in layers:
      self.add(layer)

  @property
  def layers(self) -> list[tf.Module]:
    """The layers, first to last (a copy: use `add` to append)."""
    return list(self._layers)

  def add(self, layer: tf.Module) -> None:
    """Appends `layer` to the stack.

    Raises:
      TypeError: `layer` is not a `tf.Module` (wrap functions in Lambda).
    """
    if not isinstance(layer, tf.Module):
      raise TypeError(
          f"{self.name}: layers must be modules, got {layer!r}; wrap a "
          "function in engine.modules.basic.Lambda(fn).")
    self._layers.append(layer)

  def _build(self, x: tf.Tensor) -> None:
    if self.input_shape is None:
      self.input_shape = tuple(x.shape[1:].as_list())

  def __call__(self, x, training: bool = False):
    """Returns the last layer's output for input `x` (batch first)."""
    outputs = self.intermediate_outputs(x, training=training)
    return outputs[-1][1] if outputs else tf.convert_to_tensor(x)

  def intermediate_outputs(self, x, training: bool = False
                           ) -> list[tuple[tf.Module, tf.Tensor]]:
    """Every layer's output, e.g. to show each conv layer's feature maps.

    Args:
      x: the model input (batch first).
      training: passed to each layer.

    Returns:
      A list of (layer, output) pairs, first layer to last.
    """
    x = tf.convert_to_tensor(x)
    self._build_once(x)
    outputs = []
    for layer in self._layers:
      x = layer(x, training=training)
      outputs.append((layer, x))
    return outputs

  def build(self, input_shape: Sequence[int | None],
            dtype: tf.DType = tf.float32) -> None:
    """Creates every layer's variables by calling the stack once on zeros.

    Args:
      input_shape: one example's shape, WITHOUT the batch dim; None dims
        (e.g. a variable sequence length) are built with size 1.
      dtype: the input dtype (an integer dtype for an Embedding first).
    """
    self.input_shape = tuple(input_shape)
    zeros = tf.zeros([1] + [1 if d is None else d for d in input_shape],
                     dtype)
    self(zeros)

  def summary(self, input_shape: Sequence[int | None] | None = None,
              dtype: tf.DType = tf.float32,
              print_fn: Callable[[str], None] | None = print) -> str:
    """Prints and returns a Keras-style table of layers and param counts.

    Args:
      input_shape: one example's shape without the batch dim; default: the
        shape given to `build` or seen on the first call, else
        `(input_length,)` of a first layer that declares one (Embedding).
      dtype: the input dtype used to trace the shapes.
      print_fn: where the table goes (None: only return it).

    Returns:
      The table as a string.

    Raises:
      ValueError: no `input_shape` is given and the model was never built.
    """
    if input_shape is None:
      input_shape = self.input_shape
    if input_shape is None:
      input_shape = self._declared_input_shape()
    return summary_table.print_summary(self, input_shape, dtype, print_fn)

  def _declared_input_shape(self) -> tuple[int] | None:
    """`(input_length,)` when the first layer declares it, else None."""
    length = getattr(self._layers[0], "input_length", None) if (
        self._layers) else None
    return None if length is None else (length,)
