"""The base class of every engine building block.

A `Module` is a `tf.Module` with three additions:

* lazy build exactly once: subclasses implement `_build(inputs)`, called inside
  the module's name scope on the first `__call__` (through `_build_once`), so
  variable shapes come from the first input's static shape;
* freezing: `module.trainable = False` removes the variables of the module and
  of everything below it from `trainable_variables` (they stay in
  `variables` and `non_trainable_variables`, and in checkpoints);
* regularization: modules report penalty terms through `_own_losses()`, and
  `regularization_losses` collects them over the whole tree.
"""

from __future__ import annotations

from typing import Any, Iterator

import tensorflow as tf

from engine import mixed_precision


class NotBuiltError(RuntimeError):
  """Raised when a module's variables are read before its first call."""


class Module(tf.Module):
  """Base class: name scope, build-once, freezing and regularization losses.

  Example:

    class Scale(Module):
      def _build(self, x):
        self.w = tf.Variable(tf.ones([x.shape[-1]]), name="w")

      def __call__(self, x, training=False):
        self._build_once(x)
        return x * self.w
  """

  def __init__(self, name: str | None = None, trainable: bool = True):
    super().__init__(name=name)
    self._built = False
    self.trainable = trainable
    # The policy in force when the module is created (Keras's rule).
    self._policy = mixed_precision.global_policy()

  @property
  def compute_dtype(self) -> tf.DType | None:
    """The dtype the math runs in under a mixed policy, else None (the
    input's dtype)."""
    policy = getattr(self, "_policy", None)
    return policy.compute_dtype if policy and policy.is_mixed else None

  def autocast(self, x) -> tf.Tensor:
    """`x` as a tensor; a floating one in the compute dtype under a mixed
    policy (what Keras does to every layer's input)."""
    if self.compute_dtype is None:
      return tf.convert_to_tensor(x)
    return mixed_precision.cast_floating(x, self.compute_dtype)

  @property
  def built(self) -> bool:
    """True once `_build` has run successfully."""
    return self._built

  def _build(self, *inputs: Any) -> None:
    """Creates variables from the first input. Subclasses override this."""

  def _build_once(self, *inputs: Any) -> None:
    """Runs `_build(*inputs)` inside the name scope, only until it succeeds."""
    if self._built:
      return
    with self.name_scope:
      # Variables must be created eagerly even when the first call is traced
      # by tf.function, so that they are owned by the module, not the graph.
      with tf.init_scope():
        self._build(*inputs)
    self._built = True

  def _own_losses(self) -> list[tf.Tensor]:
    """Regularization terms of this module alone (not its children)."""
    return []

  # -- traversal ---------------------------------------------------------

  def _children(self) -> Iterator[tf.Module]:
    """Direct sub-modules, in attribute order."""
    seen = set()
    for child in self._flatten(
        recursive=False, predicate=lambda v: isinstance(v, tf.Module)):
      if id(child) not in seen:
        seen.add(id(child))
        yield child

  def _direct_variables(self) -> list[tf.Variable]:
    return list(self._flatten(
        recursive=False, predicate=lambda v: isinstance(v, tf.Variable)))

  @property
  def trainable_variables(self) -> tuple[tf.Variable, ...]:
    """Trainable variables of this module and its unfrozen sub-modules."""
    if not self.trainable:
      return ()
    result, seen = [], set()

    def add(variables):
      for v in variables:
        if v.trainable and id(v) not in seen:
          seen.add(id(v))
          result.append(v)

    add(self._direct_variables())
    for child in self._children():
      add(child.trainable_variables)
    return tuple(result)

  @property
  def non_trainable_variables(self) -> tuple[tf.Variable, ...]:
    """All variables that `trainable_variables` leaves out."""
    trainable = {id(v) for v in self.trainable_variables}
    return tuple(v for v in self.variables if id(v) not in trainable)

  @property
  def regularization_losses(self) -> list[tf.Tensor]:
    """Penalty terms of the whole tree, frozen modules excluded."""
    if not self.trainable:
      return []
    losses = list(self._own_losses())
    for child in self._children():
      losses.extend(getattr(child, "regularization_losses", []))
    return losses


def check_built(module: Module, what: str) -> None:
  """Raises NotBuiltError if `module` has not been called yet."""
  if not module.built:
    raise NotBuiltError(
        f"{module.name}: {what} is not available before the module's first "
        "call; call it once on an input (or model.build(input_shape)).")
