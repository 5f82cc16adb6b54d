"""Conv1D and Conv2D: channels-last convolutions, like Keras's."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from engine.modules.kernel_layer import KernelLayer
from engine.modules.window_check import check_window_fits


def int_tuple(owner: str, arg: str, value: int | Sequence[int], n: int
              ) -> tuple[int, ...]:
  """`value` (an int or n ints, each >= 1) as a tuple of n ints.

  Args:
    owner: the module's name, for the error message.
    arg: the argument's name, for the error message.
    value: an int, or a sequence of `n` ints.
    n: the number of spatial dims.

  Returns:
    A tuple of `n` ints.

  Raises:
    ValueError: `value` has the wrong length or a value < 1.
  """
  values = (value,) * n if isinstance(value, int) else tuple(value)
  if len(values) != n or not all(isinstance(v, int) and v >= 1
                                  for v in values):
    raise ValueError(
        f"{owner}: {arg} must be an int >= 1 or {n} such ints, got {value!r}.")
  return values


class _Conv(KernelLayer):
  """Shared N-d convolution: `activation(conv(x, w) + b)`."""

  _RANK = 0
  _PADDINGS: tuple[str, ...] = ()

  def __init__(self, filters, kernel_size, strides, padding, dilation_rate,
               activation, use_bias, kernel_initializer, bias_initializer,
               kernel_l2, name, trainable):
    super().__init__(activation, use_bias, kernel_initializer,
                     bias_initializer, kernel_l2, name, trainable)
    n = self._RANK
    if not isinstance(filters, int) or filters < 1:
      raise ValueError(
          f"{self.name}: filters must be an int >= 1, got {filters!r}.")
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in self._PADDINGS:
      raise ValueError(
          f"{self.name}: padding must be one of {list(self._PADDINGS)}, got "
          f"{padding!r}.")
    self.filters = filters
    self.kernel_size = int_tuple(self.name, "kernel_size", kernel_size, n)
    self.strides = int_tuple(self.name, "strides", strides, n)
    self.dilation_rate = int_tuple(self.name, "dilation_rate",
                                   dilation_rate, n)
    if max(self.strides) > 1 and max(self.dilation_rate) > 1:
      raise ValueError(
          f"{self.name}: strides {self.strides} > 1 cannot be combined with "
          f"dilation_rate {self.dilation_rate} > 1; set one of them to 1.")
    self.padding = padding

  def _build(self, x: tf.Tensor) -> None:
    rank = self._RANK + 2
    if x.shape.rank != rank:
      raise ValueError(
          f"{self.name}: expects rank-{rank} inputs (batch, "
          f"{'spatial, ' * self._RANK}channels), got shape {x.shape}.")
    channels = x.shape[-1]
    if channels is None:
      raise ValueError(
          f"{self.name}: the channel dim must be known at build time, got "
          f"shape {x.shape}.")
    self._create_kernel([*self.kernel_size, channels, self.filters],
                        self.filters, x.dtype)

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """Applies the convolution; `training` is accepted and ignored."""
    x = self._input(x)
    self._build_once(x)
    padding = self.padding.upper()
    if self.padding == "causal":
      x = self._left_pad(x)
      padding = "VALID"
    check_window_fits(self.name, x, [
        d * (k - 1) + 1 for d, k in zip(self.dilation_rate, self.kernel_size)],
                      padding)
    return self._finish(tf.nn.convolution(
        x, self._compute(self.w), strides=self.strides, padding=padding,
        dilations=self.dilation_rate))

  def _left_pad(self, x: tf.Tensor) -> tf.Tensor:
    """Pads the time axis on the left by dilation * (kernel - 1)."""
    amount = self.dilation_rate[0] * (self.kernel_size[0] - 1)
    return tf.pad(x, [[0, 0], [amount, 0], [0, 0]])


class Conv1D(_Conv):
  """1-D convolution over (batch, steps, channels); kernel (k, in, filters).

  Padding "causal" left-pads `dilation_rate * (kernel_size - 1)` steps so an
  output never sees later inputs (for time series).

  Example:

    Conv1D(128, 5, activation="relu")(tf.zeros([2, 120, 16]))  # (2, 116, 128)
  """

  _RANK = 1
  _PADDINGS = ("valid", "same", "causal")

  def __init__(self, filters: int, kernel_size: int | Sequence[int],
               strides: int | Sequence[int] = 1, padding: str = "valid",
               dilation_rate: int | Sequence[int] = 1, activation=None,
               use_bias: bool = True, kernel_initializer="glorot_uniform",
               bias_initializer="zeros", kernel_l2: float = 0.0,
               name: str | None = None, trainable: bool = True):
    """Creates the layer (variables come on the first call).

    Args:
      filters: number of output channels, >= 1.
      kernel_size: window length (int or 1-tuple).
      strides: step between windows.
      padding: "valid", "same" or "causal".
      dilation_rate: spacing of kernel taps (not with strides > 1).
      activation: name, callable or None (see `engine.activations`).
      use_bias: whether to add the bias `b`.
      kernel_initializer: name or callable for `w`.
      bias_initializer: name or callable for `b`.
      kernel_l2: L2 factor for `w` (0 disables it).
      name: module name (default "conv1d").
      trainable: False freezes `w` and `b`.

    Raises:
      ValueError: a bad hyperparameter (the message names it).
    """
    super().__init__(filters, kernel_size, strides, padding, dilation_rate,
                     activation, use_bias, kernel_initializer,
                     bias_initializer, kernel_l2, name or "conv1d", trainable)


class Conv2D(_Conv):
  """2-D convolution over (batch, height, width, channels).

  The kernel has shape (kh, kw, in, filters).

  Example:

    conv = Conv2D(64, 3, activation="relu")
    conv(tf.zeros([2, 28, 28, 1]))  # shape (2, 26, 26, 64)
  """

  _RANK = 2
  _PADDINGS = ("valid", "same")

  def __init__(self, filters: int, kernel_size: int | Sequence[int],
               strides: int | Sequence[int] = 1, padding: str = "valid",
               dilation_rate: int | Sequence[int] = 1, activation=None,
               use_bias: bool = True, kernel_initializer="glorot_uniform",
               bias_initializer="zeros", kernel_l2: float = 0.0,
               name: str | None = None, trainable: bool = True):
    """Creates the layer (variables come on the first call).

    Args:
      filters: number of output channels, >= 1.
      kernel_size: window size, an int or (height, width).
      strides: step between windows, an int or a pair.
      padding: "valid" or "same".
      dilation_rate: spacing of kernel taps (not with strides > 1).
      activation: name, callable or None (see `engine.activations`).
      use_bias: whether to add the bias `b`.
      kernel_initializer: name or callable for `w`.
      bias_initializer: name or callable for `b`.
      kernel_l2: L2 factor for `w` (0 disables it).
      name: module name (default "conv2d").
      trainable: False freezes `w` and `b`.

    Raises:
      ValueError: a bad hyperparameter (the message names it).
    """
    super().__init__(filters, kernel_size, strides, padding, dilation_rate,
                     activation, use_bias, kernel_initializer,
                     bias_initializer, kernel_l2, name or "conv2d", trainable)
