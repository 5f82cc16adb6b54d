"""Shape check for windowed layers (pools, convolutions) at trace time.

A 'valid' window larger than its input is an AbortedError or a negative
dimension deep inside TF at run time; checking the static shape turns it
into one line that names the layer and the input size to raise.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from engine.errors import InputTooSmallError


def check_window_fits(name: str, x: tf.Tensor, window: Sequence[int],
                      padding: str) -> None:
  """Raises InputTooSmallError if a 'valid' window exceeds the input.

  Args:
    name: the layer's name, for the message.
    x: the input, (batch, *spatial, channels).
    window: the effective window per spatial dimension.
    padding: the layer's padding; only "valid" can fail.
  """
  if padding.lower() != "valid":
    return
  spatial = x.shape[1:-1]
  for size, needed in zip(spatial, window):
    if size is not None and size < needed:
      raise InputTooSmallError(
          f"{name}: its input is {'x'.join(str(s) for s in spatial)} but its "
          f"window needs at least {'x'.join(map(str, window))}; the input "
          "is too small for this network (use a larger --image_size or "
          "input length)")
