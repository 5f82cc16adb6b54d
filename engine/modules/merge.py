"""Multi-branch merges: Concatenate and Add (Keras's merge layers).

A multi-branch block (an Inception module, a residual block) is a plain
module that calls its branches on the same input and merges their outputs
with one of these, so the merge shows up by name in summaries.

Example:

  mixed = Concatenate(name="mixed0")
  y = mixed([branch_a(x), branch_b(x)])   # channels: a + b
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from engine.module import Module


def _check_inputs(owner: Module, inputs) -> list[tf.Tensor]:
  """The inputs as tensors (in the compute dtype under a mixed policy)."""
  if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
    raise ValueError(
        f"{owner.name}: expects a list of at least 2 tensors, got "
        f"{inputs!r}.")
  return [owner.autocast(x) for x in inputs]


class Concatenate(Module):
  """Joins a list of tensors along `axis` (default: channels)."""

  def __init__(self, axis: int = -1, name: str | None = None):
    super().__init__(name=name or "concatenate")
    self.axis = int(axis)

  def __call__(self, inputs: Sequence[tf.Tensor],
               training: bool = False) -> tf.Tensor:
    """Returns `tf.concat(inputs, axis)`; `training` is ignored.

    Raises:
      ValueError: fewer than 2 inputs, or shapes that differ off `axis`.
    """
    tensors = _check_inputs(self, inputs)
    rank = tensors[0].shape.rank
    axis = self.axis % rank if rank else self.axis
    reference = tensors[0].shape
    for tensor in tensors[1:]:
      other = tensor.shape
      if other.rank != rank or any(
          a is not None and b is not None and a != b
          for i, (a, b) in enumerate(zip(reference, other)) if i != axis):
        raise ValueError(
            f"{self.name}: inputs must match except on axis {self.axis}, "
            f"got shapes {[t.shape for t in tensors]}.")
    return tf.concat(tensors, axis=self.axis)


class Add(Module):
  """Sums a list of same-shaped tensors (a residual connection)."""

  def __init__(self, name: str | None = None):
    super().__init__(name=name or "add")

  def __call__(self, inputs: Sequence[tf.Tensor],
               training: bool = False) -> tf.Tensor:
    """Returns the element-wise sum; `training` is ignored.

    Raises:
      ValueError: fewer than 2 inputs or different static shapes.
    """
    tensors = _check_inputs(self, inputs)
    shapes = [t.shape for t in tensors]
    if any(not s.is_compatible_with(shapes[0]) for s in shapes[1:]):
      raise ValueError(
          f"{self.name}: inputs must have one shape, got {shapes}.")
    return tf.add_n(tensors)
