"""Layer wrappers: Bidirectional.

Example:

  bi = Bidirectional(LSTM(64, return_sequences=True))
  y = bi(tf.zeros([32, 120, 16]))  # [32, 120, 128]
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from engine.module import Module

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Module):
  """Runs a recurrent layer forwards and a copy of it backwards in time.

  The backward layer is `layer.clone(go_backwards=not layer.go_backwards)`
  (fresh weights, same config) unless `backward_layer` is given. With `return_sequences`,
  the backward outputs are reversed back into time order before merging, so
  position t holds both directions' outputs for input t (as Keras does).

  Matches `keras.layers.Bidirectional` (its weights: forward layer's, then
  backward layer's).

  Args:
    layer: a `SimpleRNN`, `LSTM` or `GRU` (anything with `clone`,
      `go_backwards`, `return_sequences` and `name`).
    merge_mode: "concat" (default), "sum", "mul", "ave", or None to return
      the list `[forward_output, backward_output]`.
    backward_layer: optional explicit backward layer; it must process the
      sequence in the opposite direction to `layer` and return sequences iff
      `layer` does.
    name: module name.
    trainable: False freezes both directions.

  Raises:
    ValueError: unknown merge_mode, or a backward_layer that does not fit.
  """

  def __init__(self, layer: Any, merge_mode: str | None = "concat",
               backward_layer: Any = None, name: str | None = None,
               trainable: bool = True):
    super().__init__(name=name, trainable=trainable)
    if merge_mode not in _MERGE_MODES:
      raise ValueError(
          f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got "
          f"{merge_mode!r}.")
    if backward_layer is None:
      backward_layer = layer.clone(
          go_backwards=not layer.go_backwards, name=f"backward_{layer.name}")
    _check_backward_layer(layer, backward_layer)
    self.merge_mode = merge_mode
    self.forward_layer = layer
    self.backward_layer = backward_layer
    self.return_sequences = layer.return_sequences

  @tf.autograph.experimental.do_not_convert
  def __call__(self, inputs: tf.Tensor, training: bool = False
               ) -> tf.Tensor | list[tf.Tensor]:
    """Runs both directions over `[batch, time, features]` inputs.

    Returns:
      The merged output: `[batch, (time,) 2 * units]` for "concat",
      `[batch, (time,) units]` for the others, or a list of both for None.
    """
    y = self.forward_layer(inputs, training=training)
    y_backward = self.backward_layer(inputs, training=training)
    if self.return_sequences:
      y_backward = tf.reverse(y_backward, axis=[1])
    return _merge(self.merge_mode, y, y_backward)


def _check_backward_layer(forward: Any, backward: Any) -> None:
  if forward.go_backwards == backward.go_backwards:
    raise ValueError(
        f"Bidirectional: the backward layer {backward.name} has go_backwards="
        f"{backward.go_backwards}, the same as the forward layer; give it "
        f"go_backwards={not forward.go_backwards}.")
  if forward.return_sequences != backward.return_sequences:
    raise ValueError(
        f"Bidirectional: return_sequences differs between the forward "
        f"({forward.return_sequences}) and backward "
        f"({backward.return_sequences}) layers; make them equal.")


def _merge(mode: str | None, y: tf.Tensor, y_backward: tf.Tensor
           ) -> tf.Tensor | list[tf.Tensor]:
  if mode == "concat":
    return tf.concat([y, y_backward], axis=-1)
  if mode == "sum":
    return y + y_backward
  if mode == "mul":
    return y * y_backward
  if mode == "ave":
    return (y + y_backward) / 2
  return [y, y_backward]
