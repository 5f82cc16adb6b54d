"""Pooling: windowed max/average pooling and global average/max pooling."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from engine.module import Module
from engine.modules.conv import int_tuple
from engine.modules.window_check import check_window_fits


class _WindowPool(Module):
  """Shared N-d windowed pooling (max by default) over channels-last inputs."""

  _RANK = 0
  _OP = staticmethod(tf.nn.max_pool)

  _DEFAULT_NAME = "pooling"

  def __init__(self, pool_size: int | Sequence[int] = 2,
               strides: int | Sequence[int] | None = None,
               padding: str = "valid", name: str | None = None):
    """Creates the module.

    Args:
      pool_size: window size, an int or one int per spatial dimension.
      strides: step between windows (default: `pool_size`).
      padding: "valid" or "same".
      name: module name (default: Keras's layer name, e.g. "max_pooling2d").

    Raises:
      ValueError: a bad hyperparameter (the message names it).
    """
    super().__init__(name=name or self._DEFAULT_NAME)
    n = self._RANK
    self.pool_size = int_tuple(self.name, "pool_size", pool_size, n)
    self.strides = (self.pool_size if strides is None
                    else int_tuple(self.name, "strides", strides, n))
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
      raise ValueError(
          f"{self.name}: padding must be 'valid' or 'same', got {padding!r}.")
    self.padding = padding

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Pools each window; `training` is accepted and ignored."""
    x = self.autocast(x)
    rank = self._RANK + 2
    if x.shape.rank != rank:
      raise ValueError(
          f"{self.name}: expects rank-{rank} inputs (batch, "
          f"{'spatial, ' * self._RANK}channels), got shape {x.shape}.")
    check_window_fits(self.name, x, self.pool_size, self.padding)
    return self._OP(x, ksize=self.pool_size, strides=self.strides,
                    padding=self.padding.upper())


class MaxPool1D(_WindowPool):
  """Max pooling over (batch, steps, channels).

  Example:

    MaxPool1D(2)(tf.zeros([1, 10, 3]))  # shape (1, 5, 3)
  """

  _RANK = 1
  _DEFAULT_NAME = "max_pooling1d"


class MaxPool2D(_WindowPool):
  """Max pooling over (batch, height, width, channels).

  Example:

    MaxPool2D(2)(tf.zeros([1, 26, 26, 64]))  # shape (1, 13, 13, 64)
  """

  _RANK = 2
  _DEFAULT_NAME = "max_pooling2d"


class AveragePooling2D(_WindowPool):
  """Average pooling over (batch, height, width, channels), like Keras.

  With padding "same" the padded positions are left out of each mean
  (TensorFlow's and Keras's rule), so border outputs average fewer values.

  Example:

    AveragePooling2D(3, strides=1, padding="same")(x)  # x's shape
  """

  _RANK = 2
  _OP = staticmethod(tf.nn.avg_pool)
  _DEFAULT_NAME = "average_pooling2d"


MaxPooling1D = MaxPool1D
MaxPooling2D = MaxPool2D
AvgPool2D = AveragePooling2D


class _GlobalPool(Module):
  """Shared global pooling: reduces every spatial axis (1 .. rank-2)."""

  _RANK = 0

  _DEFAULT_NAME = "global_pooling"

  def __init__(self, keepdims: bool = False, name: str | None = None):
    """Keeps the reduced axes as size 1 when `keepdims`; `name` defaults to
    Keras's layer name (e.g. "global_average_pooling1d")."""
    super().__init__(name=name or self._DEFAULT_NAME)
    self.keepdims = keepdims

  def _reduce(self, x: tf.Tensor, axis: list[int]) -> tf.Tensor:
    raise NotImplementedError

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Pools over the spatial axes; `training` is accepted and ignored."""
    x = tf.convert_to_tensor(x)
    rank = self._RANK + 2
    if x.shape.rank != rank:
      raise ValueError(
          f"{self.name}: expects rank-{rank} inputs (batch, "
          f"{'spatial, ' * self._RANK}channels), got shape {x.shape}.")
    return self._reduce(x, list(range(1, rank - 1)))


class _GlobalAverage(_GlobalPool):
  """Global pooling by the mean."""

  def _reduce(self, x, axis):
    return tf.reduce_mean(x, axis=axis, keepdims=self.keepdims)


class _GlobalMax(_GlobalPool):
  """Global pooling by the maximum.

  A float32 input of static spatial size is pooled by ONE max-pool window
  over all of it: the values of `reduce_max`, but the gradient is one
  MaxPoolGrad kernel instead of reduce_max's five full-size passes (equal,
  cast, sum, divide, multiply), about 0.7 ms of imdb_conv1d's 5 ms step on
  a 2-core CPU. On exactly tied maxima the whole gradient goes to one of
  the tied positions, where reduce_max (and Keras) splits it evenly; ties
  come from identical inputs (padding, flat regions), whose weight
  gradients sum to the same values either way.
  """

  def _reduce(self, x, axis):
    window = x.shape[1:-1]
    if x.dtype != tf.float32 or not window.is_fully_defined():
      return tf.reduce_max(x, axis=axis, keepdims=self.keepdims)
    pooled = tf.nn.max_pool(x, ksize=window.as_list(), strides=1,
                            padding="VALID")
    return pooled if self.keepdims else tf.squeeze(pooled, axis)


class GlobalAveragePooling1D(_GlobalAverage):
  """Mean over the steps: (batch, steps, channels) -> (batch, channels).

  Example:

    GlobalAveragePooling1D()(tf.zeros([2, 120, 16]))  # shape (2, 16)
  """

  _RANK = 1

  _DEFAULT_NAME = "global_average_pooling1d"


class GlobalAveragePooling2D(_GlobalAverage):
  """Mean over height and width: (batch, h, w, c) -> (batch, c)."""

  _RANK = 2

  _DEFAULT_NAME = "global_average_pooling2d"


class GlobalMaxPooling1D(_GlobalMax):
  """Max over the steps: (batch, steps, channels) -> (batch, channels)."""

  _RANK = 1

  _DEFAULT_NAME = "global_max_pooling1d"


class GlobalMaxPooling2D(_GlobalMax):
  """Max over height and width: (batch, h, w, c) -> (batch, c)."""

  _RANK = 2

  _DEFAULT_NAME = "global_max_pooling2d"
