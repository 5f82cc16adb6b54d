"""The optimizer base: learning rate, clipping, slots and distributed apply.

`Optimizer.apply(grads, var_list)` works eagerly, inside `tf.function`, and in
the replica context of a MirroredStrategy. There it follows the Keras
OptimizerV2 pattern:

  replica context:  grads = all_reduce(SUM, grads); grads = clip(grads)
                    merge_call(_apply_in_cross_replica_context)
  cross-replica:    for each (grad, var):
                      strategy.extended.update(var, update_step, (grad, lr))
                    iterations += 1

Gradients are summed, never averaged: the loss must already be scaled by the
global batch size (see `engine.losses.compute_average_loss`). Clipping sees
the summed gradient, so N replicas take the same step as one device.

Slot variables (momentums, velocities, ...) are lists aligned with the
variable list given to `build(var_list)`; they are tracked attributes, so a
`tf.train.Checkpoint(optimizer=...)` saves and restores them. Create and build
the optimizer under the strategy scope that runs the training step.
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

from engine.errors import EngineUserError
from engine.optimizers import clipping

Schedule = Callable[[tf.Tensor], tf.Tensor]


def _short_name(var: tf.Variable) -> str:
  """'dense/w:0' -> 'dense_w', usable inside a variable name."""
  return var.name.split(":")[0].replace("/", "_")


def _var_key(var: tf.Variable):
  """A hashable identity shared by a distributed variable and its parts."""
  container = getattr(var, "_distributed_container", None)
  if container is not None and container() is not None:
    var = container()
  return var.ref()


class _VariableIndex:
  """Maps each built variable to its position in the slot lists.

  A plain object (not a dict attribute), so tf.Module does not try to
  track or checkpoint it.
  """

  def __init__(self, var_list: Sequence[tf.Variable]):
    self.names = [v.name for v in var_list]
    self._positions = {_var_key(v): i for i, v in enumerate(var_list)}

  def position(self, var: tf.Variable, optimizer_name: str) -> int:
    key = _var_key(var)
    if key not in self._positions:
      raise EngineUserError(
          f"{optimizer_name}: variable {var.name!r} was not in the list the "
          f"optimizer was built with ({len(self.names)} variables: "
          f"{self.names[:5]}...); build one optimizer per variable list, or "
          "call build() with every variable it will update.")
    return self._positions[key]


def _densify(grad):
  """IndexedSlices (e.g. from an embedding lookup) -> a dense tensor."""
  if isinstance(grad, tf.IndexedSlices):
    return tf.convert_to_tensor(grad)
  return grad


def _graph_ops(results) -> list:
  """The ops to depend on in graph mode (eager results are None)."""
  return [r for r in tf.nest.flatten(results) if r is not None]


class Optimizer(tf.Module):
  """Base class: subclasses add `_create_slots` and `_update_step`.

  Attributes:
    iterations: int64 variable, the number of applied updates.
    learning_rate_variable: The float32 learning-rate variable (None when
      the learning rate is a schedule).
    clipnorm, clipvalue, global_clipnorm: The clip option in use (Keras
      semantics; at most one is set).

  Example:
    optimizer = Adam(learning_rate=1e-3, global_clipnorm=1.0)
    with tf.GradientTape() as tape:
      loss = ...
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
  """

  def __init__(self, learning_rate: float | tf.Variable | Schedule,
               clipnorm: float | None = None, clipvalue: float | None = None,
               global_clipnorm: float | None = None, name: str | None = None):
    """Creates `iterations` and the learning-rate variable.

    Args:
      learning_rate: A float (kept in a non-trainable float32 variable, so a
        per-epoch hook can change it), a `tf.Variable`, or a schedule
        `callable(step) -> lr` evaluated at `iterations`.
      clipnorm: Clip each gradient to this L2 norm.
      clipvalue: Clip each gradient element to [-clipvalue, clipvalue].
      global_clipnorm: Clip all gradients jointly to this global L2 norm.
      name: Module name; defaults to the class name in snake case.

    Raises:
      EngineUserError: for a negative learning rate or bad clip options.
    """
    super().__init__(name=name)
    try:
      clipping.validate_clip_options(clipnorm, clipvalue, global_clipnorm)
    except ValueError as e:
      raise EngineUserError(f"{self.name}: {e}") from None
    self.clipnorm = clipnorm
    self.clipvalue = clipvalue
    self.global_clipnorm = global_clipnorm
    self._schedule = None
    self._index = None
    self._scaled_sources: list = []
    self._multipliers: list[float] | None = None
    with self.name_scope:
      self.iterations = tf.Variable(
          0, dtype=tf.int64, trainable=False, name="iterations",
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
      self.learning_rate_variable = self._learning_rate_variable(
          learning_rate)

  def _learning_rate_variable(self, learning_rate) -> tf.Variable | None:
    if isinstance(learning_rate, tf.Variable):
      return learning_rate
    if callable(learning_rate):
      self._schedule = learning_rate
      return None
    if not isinstance(learning_rate, (int, float)) or learning_rate < 0:
      raise EngineUserError(
          f"{self.name}: learning_rate must be a float >= 0, a tf.Variable "
          f"or a schedule callable(step), got {learning_rate!r}.")
    return tf.Variable(float(learning_rate), dtype=tf.float32,
                       trainable=False, name="learning_rate")

  # -- learning rate -------------------------------------------------------

  def learning_rate_value(self) -> tf.Tensor:
    """The learning rate of the next update (schedule at `iterations`)."""
    if self._schedule is not None:
      return tf.cast(self._schedule(self.iterations), tf.float32)
    return tf.cast(tf.convert_to_tensor(self.learning_rate_variable),
                   tf.float32)

  @property
  def learning_rate(self) -> tf.Tensor:
    """Same as `learning_rate_value()`, for logging."""
    return self.learning_rate_value()

  def set_learning_rate(self, value) -> None:
    """Assigns the learning-rate variable (e.g. from a per-epoch hook).

    Raises:
      EngineUserError: if the learning rate is a schedule.
    """
    if self._schedule is not None:
      raise EngineUserError(
          f"{self.name}: the learning rate is the schedule "
          f"{self._schedule!r} and cannot be set to {value!r}; create the "
          "optimizer with a float learning_rate to change it per epoch.")
    self.learning_rate_variable.assign(
        tf.cast(value, self.learning_rate_variable.dtype))

  def scale_learning_rate(self, source, factor: float) -> None:
    """Updates `source`'s variables at `factor` times the learning rate.

    For fine-tuning: a pretrained base learns slower than a new head. Call
    it before `build`; `source` is a module (its trainable variables when
    the optimizer is built) or a list of variables.

    Raises:
      EngineUserError: the optimizer is already built, or factor < 0.
    """
    if self.built:
      raise EngineUserError(
          f"{self.name}: scale_learning_rate must be called before build(); "
          "create the optimizer, scale, then train.")
    if factor < 0:
      raise EngineUserError(
          f"{self.name}: learning-rate factor must be >= 0, got {factor}.")
    self._scaled_sources.append((source, float(factor)))

  def _resolve_multipliers(self, var_list: list[tf.Variable]) -> None:
    factors = {}
    for source, factor in self._scaled_sources:
      variables = getattr(source, "trainable_variables", source)
      factors.update({_var_key(v): factor for v in variables})
    self._multipliers = ([factors.get(_var_key(v), 1.0) for v in var_list]
                         if factors else None)

  # -- slots ---------------------------------------------------------------

  @property
  def built(self) -> bool:
    """True once the slot variables exist."""
    return self._index is not None

  def build(self, var_list: Sequence[tf.Variable]) -> None:
    """Creates the slot variables for `var_list` (once).

    Call it under the strategy scope before the first step; `apply` calls
    it on first use otherwise. Later calls are no-ops.

    Args:
      var_list: Every variable this optimizer will update, in a fixed order.
    """
    if self.built:
      return
    var_list = list(var_list)
    with tf.init_scope(), self.name_scope:
      self._create_slots(var_list)
    self._index = _VariableIndex(var_list)
    self._resolve_multipliers(var_list)

  def _create_slots(self, var_list: list[tf.Variable]) -> None:
    """Sets the slot-list attributes; subclasses override."""

  def _zeros_like_each(self, var_list: list[tf.Variable],
                       slot_name: str) -> list[tf.Variable]:
    """One zero-initialized slot per variable, placed with that variable."""
    strategy = tf.distribute.get_strategy()
    slots = []
    for var in var_list:
      with strategy.extended.colocate_vars_with(var):
        slots.append(tf.Variable(
            tf.zeros(var.shape, var.dtype), trainable=False,
            name=f"{_short_name(var)}_{slot_name}"))
    return slots

  # -- apply ---------------------------------------------------------------

  def apply(self, grads: Sequence[tf.Tensor | None],
            var_list: Sequence[tf.Variable]):
    """Applies one update from `grads` to `var_list`; `iterations += 1`.

    In the replica context of a multi-replica strategy the gradients are
    first summed over replicas. Variables whose gradient is None are left
    unchanged.

    Args:
      grads: Gradients aligned with `var_list` (tensors, IndexedSlices or
        None).
      var_list: The variables to update.

    Returns:
      In graph mode, the op that finishes the update; None when eager.

    Raises:
      EngineUserError: if the lists differ in length or every gradient is
        None.
    """
    grads, var_list = list(grads), list(var_list)
    if len(grads) != len(var_list):
      raise EngineUserError(
          f"{self.name}.apply: got {len(grads)} gradients for "
          f"{len(var_list)} variables; pass tape.gradient(loss, var_list) "
          "with the same var_list.")
    self.build(var_list)
    pairs = [(_densify(g), v) for g, v in zip(grads, var_list) if g is not None]
    if not pairs:
      raise EngineUserError(
          f"{self.name}.apply: every gradient is None for variables "
          f"{[v.name for v in var_list]}; the loss does not depend on them "
          "(check that the loss is computed from the model's output inside "
          "the GradientTape).")
    grads = [g for g, _ in pairs]
    variables = [v for _, v in pairs]
    context = tf.distribute.get_replica_context()
    if context is None:
      # Cross-replica context: the caller passes already-global gradients.
      return self._apply_in_cross_replica_context(
          tf.distribute.get_strategy(), self._clip(grads), variables)
    if context.num_replicas_in_sync > 1:
      grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    return context.merge_call(self._apply_in_cross_replica_context,
                              args=(self._clip(grads), variables))

  def _clip(self, grads: list[tf.Tensor]) -> list[tf.Tensor]:
    return clipping.clip_gradients(
        grads, clipnorm=self.clipnorm, clipvalue=self.clipvalue,
        global_clipnorm=self.global_clipnorm)

  def _apply_in_cross_replica_context(self, strategy, grads, variables):
    learning_rate = self.learning_rate_value()
    updates = []
    for grad, var in zip(grads, variables):
      index = self._index.position(var, self.name)
      rate = (learning_rate if self._multipliers is None
              else learning_rate * self._multipliers[index])
      updates.append(strategy.extended.update(
          var, self._update_one, args=(grad, rate, index), group=True))
    with tf.control_dependencies(_graph_ops(updates)):
      return self.iterations.assign_add(1, read_value=False)

  def _update_one(self, var, grad, learning_rate, index):
    """Runs on each device with that device's copy of `var`."""
    grad = tf.cast(grad, var.dtype)
    learning_rate = tf.cast(learning_rate, var.dtype)
    return self._update_step(grad, var, index, learning_rate)

  def _update_step(self, grad: tf.Tensor, var: tf.Variable, index: int,
                   learning_rate: tf.Tensor):
    """Updates `var` and its slots `self.<slots>[index]`.

    Args:
      grad: The (summed, clipped) gradient, in `var.dtype`.
      var: The variable (one device's copy under a MirroredStrategy).
      index: Position of `var` in the slot lists.
      learning_rate: The current learning rate, in `var.dtype`.

    Returns:
      The final assign (graph mode needs it to run the update).
    """
    raise NotImplementedError(
        f"{type(self).__name__} must implement _update_step.")
