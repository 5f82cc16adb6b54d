"""Per-example losses and the averaging that makes N replicas equal one device.

Every loss is `fn(y_true, y_pred, **options) -> Tensor[batch]`: the value of
each example, every non-batch axis reduced by MEAN (as Keras does), so a
sequence-to-sequence target of shape [B, T, 1] gives [B]. The training step
turns these into the step loss with `compute_average_loss` and the step's
true global batch size:

  def _replica_step(self, batch):
    x, y = batch
    with tf.GradientTape() as tape:
      per_example_loss = self.loss_fn(y, self.model(x, training=True))
      batch_size = losses.global_batch_size(tf.shape(x)[0])
      loss = losses.compute_average_loss(per_example_loss, batch_size)
      loss += losses.scale_regularization_loss(self.model.regularization_losses)
    grads = tape.gradient(loss, self.model.trainable_variables)
    self.optimizer.apply(grads, self.model.trainable_variables)

Probabilities are clipped to [EPSILON, 1 - EPSILON] exactly like Keras, so the
values equal Keras's; from logits the fused TF ops are used.
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import tensorflow as tf

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip for probabilities.

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


# -- shape helpers -----------------------------------------------------------


def squeeze_or_expand_to_same_rank(
    x1: tf.Tensor, x2: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Makes two tensors the same rank when they differ by a trailing 1-axis.

  Keras's rule: when one tensor has one more axis than the other and that
  last axis has size 1, a rank-1 partner is expanded to [B, 1]; otherwise the
  size-1 axis is squeezed. Labels [B] against predictions [B, 1] become
  [B, 1] and [B, 1].

  Args:
    x1: A tensor of static rank.
    x2: A tensor of static rank.

  Returns:
    `(x1, x2)`, possibly with one of them squeezed or expanded.
  """
  rank1, rank2 = x1.shape.rank, x2.shape.rank
  if rank1 is None or rank2 is None or rank1 == rank2:
    return x1, x2
  if rank1 == rank2 + 1 and x1.shape[-1] == 1:
    if rank2 == 1:
      return x1, tf.expand_dims(x2, -1)
    return tf.squeeze(x1, -1), x2
  if rank2 == rank1 + 1 and x2.shape[-1] == 1:
    if rank1 == 1:
      return tf.expand_dims(x1, -1), x2
    return x1, tf.squeeze(x2, -1)
  return x1, x2


def _prepare(y_true, y_pred) -> tuple[tf.Tensor, tf.Tensor]:
  """Converts to tensors, casts labels to the prediction dtype, aligns ranks."""
  y_pred = tf.convert_to_tensor(y_pred)
  if not y_pred.dtype.is_floating:
    y_pred = tf.cast(y_pred, tf.float32)
  y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
  return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _check_same_shape(y_true: tf.Tensor, y_pred: tf.Tensor, name: str) -> None:
  if not y_true.shape.is_compatible_with(y_pred.shape):
    raise ValueError(
        f"{name}: y_true and y_pred must have the same shape, got "
        f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}; give "
        "one target per prediction (labels [B] or [B, 1] fit predictions "
        "[B, 1]).")


def mean_over_non_batch_axes(values: tf.Tensor) -> tf.Tensor:
  """Averages every axis but the first: [B, ...] -> [B]; [B] stays [B]."""
  rank = values.shape.rank
  if rank is None:
    raise ValueError(
        f"per-example loss needs a static rank, got shape {values.shape}; set "
        "the rank of the model output (e.g. with tf.ensure_shape).")
  if rank <= 1:
    return values
  return tf.reduce_mean(values, axis=list(range(1, rank)))


# -- per-example losses ------------------------------------------------------


def mean_squared_error(y_true, y_pred) -> tf.Tensor:
  """Mean of `(y_true - y_pred)**2` over every non-batch axis.

  Args:
    y_true: Targets, [B, ...] (a [B] target fits a [B, 1] prediction).
    y_pred: Predictions, [B, ...].

  Returns:
    Float tensor [B].
  """
  y_true, y_pred = _prepare(y_true, y_pred)
  _check_same_shape(y_true, y_pred, "mean_squared_error")
  return mean_over_non_batch_axes(tf.square(y_pred - y_true))


def mean_absolute_error(y_true, y_pred) -> tf.Tensor:
  """Mean of `|y_true - y_pred|` over every non-batch axis.

  Args:
    y_true: Targets, [B, ...].
    y_pred: Predictions, [B, ...].

  Returns:
    Float tensor [B].
  """
  y_true, y_pred = _prepare(y_true, y_pred)
  _check_same_shape(y_true, y_pred, "mean_absolute_error")
  return mean_over_non_batch_axes(tf.abs(y_pred - y_true))


def huber(y_true, y_pred, delta: float = 1.0) -> tf.Tensor:
  """Huber loss: quadratic for |error| <= delta, linear beyond.

  Per element `0.5 * e**2` if `|e| <= delta`, else
  `delta * |e| - 0.5 * delta**2`; then the mean over non-batch axes.

  Args:
    y_true: Targets, [B, ...].
    y_pred: Predictions, [B, ...].
    delta: The error size where the loss turns linear; must be > 0.

  Returns:
    Float tensor [B].

  Raises:
    ValueError: if `delta` is not positive.
  """
  if delta <= 0:
    raise ValueError(f"huber: delta must be > 0, got {delta}.")
  y_true, y_pred = _prepare(y_true, y_pred)
  _check_same_shape(y_true, y_pred, "huber")
  abs_error = tf.abs(y_pred - y_true)
  delta = tf.cast(delta, y_pred.dtype)
  values = tf.where(abs_error <= delta, 0.5 * tf.square(abs_error),
                    delta * abs_error - 0.5 * tf.square(delta))
  return mean_over_non_batch_axes(values)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False) -> tf.Tensor:
  """Binary cross-entropy of 0/1 labels against probabilities or logits.

  Args:
    y_true: Labels in {0, 1} (or soft labels in [0, 1]), [B] or [B, ...].
    y_pred: Probabilities (sigmoid outputs) or logits, [B, ...].
    from_logits: True when `y_pred` holds logits.

  Returns:
    Float tensor [B]: the mean over every non-batch axis.
  """
  y_true, y_pred = _prepare(y_true, y_pred)
  _check_same_shape(y_true, y_pred, "binary_crossentropy")
  if from_logits:
    values = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=y_true, logits=y_pred)
  else:
    p = tf.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    values = -(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
  return mean_over_non_batch_axes(values)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> tf.Tensor:
  """Cross-entropy of one-hot (or soft) labels against a class distribution.

  Args:
    y_true: One-hot labels, [B, ..., C].
    y_pred: Probabilities (softmax outputs) or logits, [B, ..., C].
    from_logits: True when `y_pred` holds logits.
    label_smoothing: In [0, 1]; labels become
      `y_true * (1 - label_smoothing) + label_smoothing / C`.

  Returns:
    Float tensor [B].

  Raises:
    ValueError: if the shapes differ or `label_smoothing` is outside [0, 1].
  """
  if not 0.0 <= label_smoothing <= 1.0:
    raise ValueError("categorical_crossentropy: label_smoothing must be in "
                     f"[0, 1], got {label_smoothing}.")
  y_pred = tf.convert_to_tensor(y_pred)
  y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
  _check_same_shape(y_true, y_pred, "categorical_crossentropy")
  if label_smoothing:
    num_classes = tf.cast(tf.shape(y_true)[-1], y_pred.dtype)
    y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
  if from_logits:
    values = tf.nn.softmax_cross_entropy_with_logits(
        labels=y_true, logits=y_pred, axis=-1)
  else:
    p = y_pred / tf.reduce_sum(y_pred, axis=-1, keepdims=True)
    p = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    values = -tf.reduce_sum(y_true * tf.math.log(p), axis=-1)
  return mean_over_non_batch_axes(values)


def sparse_categorical_crossentropy(y_true, y_pred,
                                    from_logits: bool = False) -> tf.Tensor:
  """Cross-entropy of integer class labels against a class distribution.

  Args:
    y_true: Class ids, [B, ...] or [B, ..., 1]; any int or float dtype.
    y_pred: Probabilities (softmax outputs) or logits, [B, ..., C].
    from_logits: True when `y_pred` holds logits.

  Returns:
    Float tensor [B].

  Raises:
    ValueError: if the label shape does not match the prediction shape
      without its class axis.
  """
  y_pred = tf.convert_to_tensor(y_pred)
  labels = tf.convert_to_tensor(y_true)
  if (labels.shape.rank == y_pred.shape.rank and labels.shape[-1] == 1):
    labels = tf.squeeze(labels, -1)
  if not labels.shape.is_compatible_with(y_pred.shape[:-1]):
    raise ValueError(
        "sparse_categorical_crossentropy: labels must have the prediction "
        f"shape without its class axis, got y_true.shape={y_true.shape} and "
        f"y_pred.shape={y_pred.shape}; give one class id per example ([B] or "
        "[B, 1]), or use categorical_crossentropy for one-hot labels.")
  labels = tf.cast(labels, tf.int64)
  logits = y_pred
  if not from_logits:
    logits = tf.math.log(tf.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON))
  values = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=logits)
  return mean_over_non_batch_axes(values)


# -- lookup by name ----------------------------------------------------------

_LOSSES = {
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "huber": huber,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


def canonical_name(name: str) -> str:
  """The full name of a loss: "mse" -> "mean_squared_error".

  Raises:
    ValueError: for an unknown name; the message lists the known ones.
  """
  key = str(name).lower()
  if key not in _LOSSES:
    raise ValueError(f"unknown loss {name!r}; use one of "
                     f"{sorted(_LOSSES)}.")
  return _LOSSES[key].__name__


def get(name: str | LossFn, **kwargs) -> LossFn:
  """Returns the per-example loss `fn(y_true, y_pred) -> [B]` for a name.

  Args:
    name: "mse"/"mean_squared_error", "mae"/"mean_absolute_error", "huber",
      "binary_crossentropy", "categorical_crossentropy" or
      "sparse_categorical_crossentropy" (any case); a callable is returned
      as is.
    **kwargs: Options of that loss, e.g. `from_logits=True`, `delta=2.0`.

  Returns:
    A function of `(y_true, y_pred)`; its `__name__` is the full loss name.

  Raises:
    ValueError: for an unknown name or an option the loss does not take.

  Example:
    loss_fn = losses.get("sparse_categorical_crossentropy", from_logits=True)
  """
  if callable(name):
    if kwargs:
      raise ValueError(f"options {sorted(kwargs)} apply only to a loss given "
                       f"by name, got the callable {name!r}.")
    return name
  fn = _LOSSES[canonical_name(name)]
  try:
    inspect.signature(fn).bind(None, None, **kwargs)
  except TypeError as e:
    allowed = list(inspect.signature(fn).parameters)[2:]
    raise ValueError(
        f"loss {name!r} does not take options {sorted(kwargs)}; its options "
        f"are {allowed}.") from e
  if not kwargs:
    return fn

  def loss_with_options(y_true, y_pred):
    return fn(y_true, y_pred, **kwargs)

  loss_with_options.__name__ = fn.__name__
  loss_with_options.__doc__ = fn.__doc__
  return loss_with_options


# -- averaging under distribution --------------------------------------------


def global_batch_size(local_batch_size) -> tf.Tensor:
  """The step's true global batch size, from inside a replica function.

  All-reduces (SUM) the local batch sizes of all replicas, so a partial last
  batch, split unevenly, is averaged over the number of examples it really
  has, and N replicas give the same loss as one device.

  Args:
    local_batch_size: This replica's number of examples (int or scalar
      tensor, typically `tf.shape(x)[0]`).

  Returns:
    Scalar int32 tensor.

  Raises:
    RuntimeError: when called in cross-replica context of a strategy with
      several replicas (the local size would be meaningless there).
  """
  local = tf.cast(local_batch_size, tf.float32)
  context = tf.distribute.get_replica_context()
  if context is None:
    strategy = tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync > 1:
      raise RuntimeError(
          "global_batch_size must be called inside strategy.run (replica "
          f"context); it was called in cross-replica context of {strategy!r}.")
    return tf.cast(local, tf.int32)
  # Summed as float32 (exact below 2**24): integer all-reduce is not
  # supported by every cross-device implementation.
  return tf.cast(context.all_reduce(tf.distribute.ReduceOp.SUM, local),
                 tf.int32)


def compute_average_loss(per_example_loss, global_batch_size=None,
                         sample_weight=None) -> tf.Tensor:
  """Sum of per-example losses divided by the global batch size.

  Same as `tf.nn.compute_average_loss`: summing the per-replica results (as
  the gradient all-reduce does) gives the mean over the global batch.

  Args:
    per_example_loss: Tensor [B] (or [B, ...]; every element is summed).
    global_batch_size: Scalar int (tensor) - the step's global example
      count, see `global_batch_size`; None means the local batch times the
      number of replicas (right only for full, evenly split batches).
    sample_weight: Optional weights multiplied into the losses first.

  Returns:
    Scalar tensor; 0 for an empty global batch.
  """
  return tf.nn.compute_average_loss(
      per_example_loss, sample_weight=sample_weight,
      global_batch_size=global_batch_size)


def scale_regularization_loss(
    reg_losses: Sequence[tf.Tensor] | tf.Tensor) -> tf.Tensor:
  """Sum of regularization terms divided by the number of replicas.

  After the gradient all-reduce (SUM) the term is then counted exactly once.

  Args:
    reg_losses: A list of scalar penalty terms (may be empty) or one tensor.

  Returns:
    Scalar float tensor (0.0 for no terms).
  """
  if isinstance(reg_losses, (list, tuple)):
    if not reg_losses:
      return tf.constant(0.0)
    total = tf.add_n([tf.reduce_sum(r) for r in reg_losses])
  else:
    total = tf.reduce_sum(reg_losses)
  return tf.nn.scale_regularization_loss(total)
