"""InceptionV3 (Keras's architecture, `include_top=False`) from engine modules.

The network is the stem plus the blocks `mixed0` ... `mixed10`; `cut_at`
ends it after one of them (the course cuts at `mixed7`: 7x7x768 at 150x150).
Layers are created in the order and with the names Keras gives them in a
fresh session (`conv2d`, `batch_normalization`, `activation`, ...,
`mixed0`, ...), so the summary reads like Keras's, and Keras's weight files
map onto the layers of each kind in creation order (see
`data.keras_weights`). Every convolution has no bias and is followed by a
BatchNormalization without `gamma` (`scale=False`) and a ReLU.

Example:

  base = InceptionV3(cut_at="mixed7")
  base.build([150, 150, 3])
  base.summary()                 # 8,975,264 params; full network 21,802,784
  features = base(images)        # [B, 7, 7, 768]
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Callable, Sequence

import tensorflow as tf

from engine import freezing
from engine import summary_table
from engine.module import Module
from engine.modules.activation import Activation
from engine.modules.conv import Conv2D
from engine.modules.merge import Concatenate
from engine.modules.norm import BatchNormalization
from engine.modules.pool import AveragePooling2D, MaxPool2D

BLOCKS = ("stem",) + tuple(f"mixed{i}" for i in range(11))
ENDPOINTS = BLOCKS[1:]
MIN_SIZE = 75


@dataclasses.dataclass(frozen=True)
class _Conv:
  """conv2d_bn(x, filters, rows, cols, padding, strides) of Keras's code."""
  filters: int
  rows: int
  cols: int
  strides: int = 1
  padding: str = "same"


_AVG = "avg"   # AveragePooling2D(3, strides=1, padding="same")
_MAX = "max"   # MaxPooling2D(3, strides=2), valid


@dataclasses.dataclass(frozen=True)
class _Split:
  """Two one-conv sub-branches on the same input, concatenated."""
  first: _Conv
  second: _Conv
  name: str | None = None   # None: Keras's automatic "concatenate"


def _mixed_35(pool_filters: int) -> list[list]:
  return [[_Conv(64, 1, 1)],
          [_Conv(48, 1, 1), _Conv(64, 5, 5)],
          [_Conv(64, 1, 1), _Conv(96, 3, 3), _Conv(96, 3, 3)],
          [_AVG, _Conv(pool_filters, 1, 1)]]


def _mixed_17(width: int) -> list[list]:
  return [[_Conv(192, 1, 1)],
          [_Conv(width, 1, 1), _Conv(width, 1, 7), _Conv(192, 7, 1)],
          [_Conv(width, 1, 1), _Conv(width, 7, 1), _Conv(width, 1, 7),
           _Conv(width, 7, 1), _Conv(192, 1, 7)],
          [_AVG, _Conv(192, 1, 1)]]


def _mixed_8(index: int) -> list[list]:
  return [[_Conv(320, 1, 1)],
          [_Conv(384, 1, 1), _Split(_Conv(384, 1, 3), _Conv(384, 3, 1),
                                    f"mixed9_{index}")],
          [_Conv(448, 1, 1), _Conv(384, 3, 3),
           _Split(_Conv(384, 1, 3), _Conv(384, 3, 1))],
          [_AVG, _Conv(192, 1, 1)]]


# Each block: a list of branches run on the block's input and concatenated
# (the stem is one branch, not concatenated). Order = Keras's code order.
_SPEC: dict[str, list[list]] = {
    "stem": [[_Conv(32, 3, 3, 2, "valid"), _Conv(32, 3, 3, 1, "valid"),
              _Conv(64, 3, 3), _MAX, _Conv(80, 1, 1, 1, "valid"),
              _Conv(192, 3, 3, 1, "valid"), _MAX]],
    "mixed0": _mixed_35(32),
    "mixed1": _mixed_35(64),
    "mixed2": _mixed_35(64),
    "mixed3": [[_Conv(384, 3, 3, 2, "valid")],
               [_Conv(64, 1, 1), _Conv(96, 3, 3),
                _Conv(96, 3, 3, 2, "valid")],
               [_MAX]],
    "mixed4": _mixed_17(128),
    "mixed5": _mixed_17(160),
    "mixed6": _mixed_17(160),
    "mixed7": _mixed_17(192),
    "mixed8": [[_Conv(192, 1, 1), _Conv(320, 3, 3, 2, "valid")],
               [_Conv(192, 1, 1), _Conv(192, 1, 7), _Conv(192, 7, 1),
                _Conv(192, 3, 3, 2, "valid")],
               [_MAX]],
    "mixed9": _mixed_8(0),
    "mixed10": _mixed_8(1),
}

_CHANNELS = {"mixed0": 256, "mixed1": 288, "mixed2": 288, "mixed3": 768,
             "mixed4": 768, "mixed5": 768, "mixed6": 768, "mixed7": 768,
             "mixed8": 1280, "mixed9": 2048, "mixed10": 2048}


def output_shape(image_size: int, cut_at: str = "mixed10"
                 ) -> tuple[int, int, int]:
  """The base's output shape (h, w, channels) for square `image_size` input.

  Example: output_shape(150, "mixed7") == (7, 7, 768).
  """
  def reduce(n):   # 3x3, stride 2, valid
    return (n - 3) // 2 + 1
  size = reduce(reduce(reduce(image_size) - 2) - 2)   # the stem: 35 at 299
  if ENDPOINTS.index(cut_at) >= ENDPOINTS.index("mixed3"):
    size = reduce(size)
  if ENDPOINTS.index(cut_at) >= ENDPOINTS.index("mixed8"):
    size = reduce(size)
  return size, size, _CHANNELS[cut_at]


# A step of the forward program: x -> y, recording (layer, output) pairs.
_Step = Callable[[tf.Tensor, list], tf.Tensor]


class _Namer:
  """Keras's automatic names: conv2d, conv2d_1, conv2d_2, ..."""

  def __init__(self):
    self._counts = collections.Counter()

  def __call__(self, prefix: str) -> str:
    count = self._counts[prefix]
    self._counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _apply(layer: Module, training: bool) -> _Step:
  def step(x, record):
    y = layer(x, training=training)
    record.append((layer, y))
    return y
  return step


class InceptionV3(Module):
  """Keras's InceptionV3 without its classifier, cut after any block.

  Attributes:
    layers: every layer in creation order (Keras's names).
    blocks: the block names it has, "stem" then "mixed0" ... `cut_at`.
  """

  def __init__(self, cut_at: str = "mixed10", name: str = "inception_v3",
               trainable: bool = True):
    """Creates the layers (variables come on the first call).

    Args:
      cut_at: the last block, one of mixed0 ... mixed10.
      name: module name.
      trainable: False freezes every layer (BatchNormalization included,
        which then runs in inference mode).

    Raises:
      ValueError: `cut_at` is not a block name.
    """
    super().__init__(name=name, trainable=trainable)
    if cut_at not in ENDPOINTS:
      raise ValueError(
          f"{self.name}: cut_at must be one of {', '.join(ENDPOINTS)}, got "
          f"{cut_at!r}.")
    self.cut_at = cut_at
    self.blocks = BLOCKS[:BLOCKS.index(cut_at) + 1]
    self._layers: list[Module] = []
    # Block -> (first, end) positions in _layers: indices, not a second
    # reference to the modules, so each has ONE path in checkpoints.
    self._block_ranges: dict[str, tuple[int, int]] = {}
    self._programs: dict[str, Callable[[tf.Tensor, list, bool],
                                       tf.Tensor]] = {}
    self.input_shape: tuple[int, ...] | None = None
    namer = _Namer()
    for block in self.blocks:
      start = len(self._layers)
      self._programs[block] = self._make_block(block, _SPEC[block], namer)
      self._block_ranges[block] = (start, len(self._layers))
    if not trainable:
      freezing.set_trainable(self, False)

  # -- construction ----------------------------------------------------------

  def _add(self, layer: Module) -> Module:
    self._layers.append(layer)
    return layer

  def _make_conv(self, spec: _Conv, namer: _Namer):
    conv = self._add(Conv2D(spec.filters, (spec.rows, spec.cols),
                            strides=spec.strides, padding=spec.padding,
                            use_bias=False, name=namer("conv2d")))
    bn = self._add(BatchNormalization(scale=False,
                                      name=namer("batch_normalization")))
    act = self._add(Activation("relu", name=namer("activation")))
    return [conv, bn, act]

  def _make_step(self, item, namer: _Namer):
    """A function (x, record, training) -> y for one item of a branch."""
    if isinstance(item, _Conv):
      layers = self._make_conv(item, namer)
      return lambda x, record, training: _run(layers, x, record, training)
    if isinstance(item, _Split):
      first = self._make_conv(item.first, namer)
      second = self._make_conv(item.second, namer)
      concat = self._add(Concatenate(name=item.name or namer("concatenate")))

      def split(x, record, training):
        a = _run(first, x, record, training)
        b = _run(second, x, record, training)
        return _apply(concat, training)([a, b], record)
      return split
    if item == _AVG:
      pool = self._add(AveragePooling2D(3, strides=1, padding="same",
                                        name=namer("average_pooling2d")))
    else:
      pool = self._add(MaxPool2D(3, strides=2,
                                 name=namer("max_pooling2d")))
    return lambda x, record, training: _apply(pool, training)(x, record)

  def _make_block(self, block: str, branches: list[list], namer: _Namer):
    programs = [[self._make_step(item, namer) for item in branch]
                for branch in branches]
    concat = (None if block == "stem"
              else self._add(Concatenate(name=block)))

    def run(x, record, training):
      outputs = []
      for steps in programs:
        y = x
        for step in steps:
          y = step(y, record, training)
        outputs.append(y)
      if concat is None:
        return outputs[0]
      return _apply(concat, training)(outputs, record)
    return run

  # -- properties ----------------------------------------------------------------

  @property
  def layers(self) -> list[Module]:
    """Every layer, in creation order (a copy)."""
    return list(self._layers)

  def block_layers(self, block: str) -> list[Module]:
    """The layers of one block ("stem", "mixed0", ...), creation order."""
    first, end = self._block_ranges[block]
    return self._layers[first:end]

  def unfreeze_from(self, block: str) -> None:
    """Freezes the blocks before `block` and unfreezes it and later ones.

    Raises:
      ValueError: `block` is not one of this network's blocks.
    """
    if block not in self.blocks:
      raise ValueError(
          f"{self.name}: cannot fine-tune from {block!r}; this network has "
          f"blocks {', '.join(self.blocks)}.")
    self.trainable = True
    first = self.blocks.index(block)
    for index, name in enumerate(self.blocks):
      for layer in self.block_layers(name):
        freezing.set_trainable(layer, index >= first)

  def _first_trainable_block(self) -> int:
    """Index of the first block with a trainable layer (len if none)."""
    if not self.trainable:
      return len(self.blocks)
    for index, name in enumerate(self.blocks):
      if any(layer.trainable and layer.variables
             for layer in self.block_layers(name)):
        return index
    return len(self.blocks)

  # -- forward -------------------------------------------------------------------

  def _build(self, x: tf.Tensor) -> None:
    if x.shape.rank != 4 or x.shape[-1] != 3:
      raise ValueError(
          f"{self.name}: expects RGB images (batch, height, width, 3), got "
          f"shape {x.shape}.")
    height, width = x.shape[1], x.shape[2]
    if (height is not None and height < MIN_SIZE) or (
        width is not None and width < MIN_SIZE):
      raise ValueError(
          f"{self.name}: images must be at least {MIN_SIZE}x{MIN_SIZE}, got "
          f"{height}x{width}; use a larger --image_size.")
    if self.input_shape is None:
      self.input_shape = tuple(x.shape[1:].as_list())

  def _forward(self, x, training, record: list,
               blocks: list | None = None) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    self._build_once(x)
    frozen_until = self._first_trainable_block()
    for index, block in enumerate(self.blocks):
      if index == frozen_until:
        x = tf.stop_gradient(x)   # a frozen prefix costs no backward pass
      x = self._programs[block](x, record, training)
      if blocks is not None:
        blocks.append((block, x))
    if frozen_until == len(self.blocks):
      x = tf.stop_gradient(x)
    return x

  def __call__(self, x, training: bool = False) -> tf.Tensor:
    """The output of the last block (`cut_at`)."""
    return self._forward(x, training, [])

  def intermediate_outputs(self, x, training: bool = False
                           ) -> list[tuple[Module, tf.Tensor]]:
    """(layer, output) of every layer, in the order they run."""
    record: list = []
    self._forward(x, training, record)
    return record

  def block_outputs(self, x, training: bool = False
                    ) -> list[tuple[str, tf.Tensor]]:
    """(block name, output) of the stem and each mixed block."""
    blocks: list = []
    self._forward(x, training, [], blocks)
    return blocks

  def build(self, input_shape: Sequence[int | None],
            dtype: tf.DType = tf.float32) -> None:
    """Creates every variable by calling the network once on zeros.

    Args:
      input_shape: one image's shape without the batch dim, e.g. (150, 150,
        3).
      dtype: the input dtype.
    """
    self.input_shape = tuple(input_shape)
    self(tf.zeros([1, *input_shape], dtype))

  def summary(self, input_shape: Sequence[int | None] | None = None,
              dtype: tf.DType = tf.float32,
              print_fn: Callable[[str], None] | None = print) -> str:
    """Prints and returns the layer table (Keras's names) and totals."""
    input_shape = input_shape or self.input_shape
    if input_shape is None:
      raise ValueError(
          f"{self.name}: summary() needs the input shape; pass "
          "summary(input_shape=...) or call build(input_shape) first.")
    text = summary_table.summarize(self, input_shape, dtype)
    if print_fn is not None:
      print_fn(text)
    return text


def _run(layers: list[Module], x, record: list, training: bool):
  for layer in layers:
    x = _apply(layer, training)(x, record)
  return x
