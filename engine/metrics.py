"""Example-weighted metrics that stay correct under MirroredStrategy.

Each metric keeps two scalar variables, `total` and `count`, and reports
`total / count`: an epoch's value weights every example equally, never the
mean of batch means. The variables are ON_READ with SUM aggregation, so each
replica adds to its own copy in `strategy.run`, and a read in cross-replica
context (the eager end-of-loop hook) sums the copies.

  with strategy.scope():
    accuracy = metrics.get("accuracy", loss_name="binary_crossentropy")
  ...
  strategy.run(step, ...)          # calls accuracy.update(y, y_pred)
  print(accuracy.name, float(accuracy.result()))   # cross-replica: summed
  accuracy.reset()

Create metrics under the strategy scope that runs the steps.
"""

from __future__ import annotations

import tensorflow as tf

from engine import losses as losses_lib


def _sum_on_read_variable(name: str, dtype: tf.DType) -> tf.Variable:
  return tf.Variable(
      tf.zeros([], dtype), name=name, trainable=False,
      synchronization=tf.VariableSynchronization.ON_READ,
      aggregation=tf.VariableAggregation.SUM)


def _mean_over_axes_from(values: tf.Tensor, first_axis: int) -> tf.Tensor:
  rank = values.shape.rank
  if rank is None or rank <= first_axis:
    return values
  return tf.reduce_mean(values, axis=list(range(first_axis, rank)))


class Mean(tf.Module):
  """Example-weighted running mean: `sum(values * w) / sum(w)`.

  Values of shape [B, ...] are first averaged per example (every non-batch
  axis, as Keras does), so each example counts once.

  Attributes:
    total: ON_READ/SUM variable, the weighted sum of per-example values.
    count: ON_READ/SUM variable, the sum of example weights.

  Example:
    m = Mean(name="loss")
    m.update(per_example_loss)
    m.result()
  """

  def __init__(self, name: str = "mean", dtype: tf.DType = tf.float32):
    """Creates the variables (under the active strategy's scope).

    Args:
      name: The name shown in logs, a Python identifier ("loss", "mae").
      dtype: Floating dtype of the accumulators.
    """
    super().__init__(name=name)
    self._dtype = tf.as_dtype(dtype)
    with self.name_scope:
      self.total = _sum_on_read_variable("total", self._dtype)
      self.count = _sum_on_read_variable("count", self._dtype)

  @property
  def dtype(self) -> tf.DType:
    """The dtype of the accumulators and of `result()`."""
    return self._dtype

  def update(self, values, sample_weight=None) -> None:
    """Adds a batch of per-example values.

    Args:
      values: Tensor [B, ...] (or a scalar, counted as one example).
      sample_weight: Optional weights, [B] or broadcastable to `values`
        ([B, 1] against [B] is aligned as in Keras); None weights every
        example 1.
    """
    self._accumulate(values, sample_weight)

  def _accumulate(self, values, sample_weight) -> None:
    """Keras's reduce-to-samplewise rule, then adds to total and count."""
    values = tf.cast(values, self._dtype)
    if sample_weight is None:
      count = (tf.cast(tf.shape(values)[0], self._dtype)
               if values.shape.rank else tf.constant(1.0, self._dtype))
    else:
      weight = tf.cast(sample_weight, self._dtype)
      values, weight = losses_lib.squeeze_or_expand_to_same_rank(
          values, weight)
      values = _mean_over_axes_from(values, weight.shape.rank)
      weight = tf.broadcast_to(weight, tf.shape(values))
      values = values * weight
      count = tf.reduce_sum(_mean_over_axes_from(weight, 1))
    self.total.assign_add(tf.reduce_sum(_mean_over_axes_from(values, 1)))
    self.count.assign_add(count)

  def result(self) -> tf.Tensor:
    """Returns `total / count` (0 before any update).

    Read in cross-replica context, both are summed over the replicas.
    """
    return tf.math.divide_no_nan(tf.convert_to_tensor(self.total),
                                 tf.convert_to_tensor(self.count))

  def reset(self) -> None:
    """Sets total and count back to zero (on every replica)."""
    self.total.assign(tf.zeros([], self._dtype))
    self.count.assign(tf.zeros([], self._dtype))


class _MeanOfFunction(Mean):
  """A Mean over `fn(y_true, y_pred)`, the per-element metric values."""

  def _values(self, y_true, y_pred) -> tf.Tensor:
    raise NotImplementedError

  def update(self, y_true, y_pred, sample_weight=None) -> None:
    """Adds a batch of targets and predictions.

    Args:
      y_true: Targets, [B, ...].
      y_pred: Predictions, [B, ...].
      sample_weight: Optional per-example weights ([B] or broadcastable).
    """
    self._accumulate(self._values(y_true, y_pred), sample_weight)


class BinaryAccuracy(_MeanOfFunction):
  """Fraction of `(y_pred > threshold) == y_true`, for 0/1 labels."""

  def __init__(self, threshold: float = 0.5, name: str = "binary_accuracy",
               dtype: tf.DType = tf.float32):
    """Creates the metric.

    Args:
      threshold: Probabilities above it predict class 1 (use 0.0 for
        logits).
      name: Log name.
      dtype: Accumulator dtype.
    """
    super().__init__(name=name, dtype=dtype)
    self.threshold = float(threshold)

  def _values(self, y_true, y_pred):
    y_true = tf.cast(y_true, self.dtype)
    y_pred = tf.cast(y_pred, self.dtype)
    y_true, y_pred = losses_lib.squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = tf.cast(y_pred > self.threshold, self.dtype)
    return tf.cast(tf.equal(y_true, predicted), self.dtype)


class CategoricalAccuracy(_MeanOfFunction):
  """Fraction of `argmax(y_pred) == argmax(y_true)`, for one-hot labels."""

  def __init__(self, name: str = "categorical_accuracy",
               dtype: tf.DType = tf.float32):
    super().__init__(name=name, dtype=dtype)

  def _values(self, y_true, y_pred):
    matches = tf.equal(tf.argmax(y_true, axis=-1), tf.argmax(y_pred, axis=-1))
    return tf.cast(matches, self.dtype)


class SparseCategoricalAccuracy(_MeanOfFunction):
  """Fraction of `argmax(y_pred) == y_true`, for integer class ids."""

  def __init__(self, name: str = "sparse_categorical_accuracy",
               dtype: tf.DType = tf.float32):
    super().__init__(name=name, dtype=dtype)

  def _values(self, y_true, y_pred):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.convert_to_tensor(y_true)
    if y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1:
      y_true = tf.squeeze(y_true, -1)
    predicted = tf.cast(tf.argmax(y_pred, axis=-1), self.dtype)
    return tf.cast(tf.equal(tf.cast(y_true, self.dtype), predicted),
                   self.dtype)


def _aligned_difference(y_true, y_pred, dtype) -> tf.Tensor:
  y_true, y_pred = losses_lib.squeeze_or_expand_to_same_rank(
      tf.cast(y_true, dtype), tf.cast(y_pred, dtype))
  return y_pred - y_true


class MeanAbsoluteError(_MeanOfFunction):
  """Mean of `|y_true - y_pred|` over all examples seen."""

  def __init__(self, name: str = "mean_absolute_error",
               dtype: tf.DType = tf.float32):
    super().__init__(name=name, dtype=dtype)

  def _values(self, y_true, y_pred):
    error = _aligned_difference(y_true, y_pred, self.dtype)
    return tf.reduce_mean(tf.abs(error), axis=-1)


class MeanSquaredError(_MeanOfFunction):
  """Mean of `(y_true - y_pred)**2` over all examples seen."""

  def __init__(self, name: str = "mean_squared_error",
               dtype: tf.DType = tf.float32):
    super().__init__(name=name, dtype=dtype)

  def _values(self, y_true, y_pred):
    error = _aligned_difference(y_true, y_pred, self.dtype)
    return tf.reduce_mean(tf.square(error), axis=-1)


# -- lookup by name ----------------------------------------------------------

_ACCURACY_BY_LOSS = {
    "binary_crossentropy": BinaryAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
}

# identifier -> (class, log name)
_METRICS = {
    "binary_accuracy": (BinaryAccuracy, "binary_accuracy"),
    "categorical_accuracy": (CategoricalAccuracy, "categorical_accuracy"),
    "sparse_categorical_accuracy": (SparseCategoricalAccuracy,
                                    "sparse_categorical_accuracy"),
    "mae": (MeanAbsoluteError, "mae"),
    "mean_absolute_error": (MeanAbsoluteError, "mae"),
    "mse": (MeanSquaredError, "mse"),
    "mean_squared_error": (MeanSquaredError, "mse"),
    "loss": (Mean, "loss"),
}
_ACCURACY_NAMES = ("accuracy", "acc")


def _accuracy_for_loss(loss_name: str | None) -> type[Mean]:
  """Keras's choice of accuracy from the loss: binary, categorical, sparse."""
  if loss_name is None:
    raise ValueError(
        "metric 'accuracy' needs the loss name to choose between binary, "
        "categorical and sparse categorical accuracy, got loss_name=None; "
        "pass loss_name= or name the metric explicitly (e.g. "
        "'binary_accuracy').")
  loss = losses_lib.canonical_name(loss_name)
  if loss not in _ACCURACY_BY_LOSS:
    raise ValueError(
        f"metric 'accuracy' is defined for the crossentropy losses "
        f"{sorted(_ACCURACY_BY_LOSS)}, got loss {loss_name!r}; use a "
        "regression metric ('mae', 'mse') or name the accuracy explicitly.")
  return _ACCURACY_BY_LOSS[loss]


def get(name: str, loss_name: str | None = None) -> Mean:
  """Creates a metric by name; call it under the strategy scope.

  Args:
    name: "accuracy"/"acc" (resolved from `loss_name`: binary, categorical
      or sparse categorical accuracy, as Keras does), "binary_accuracy",
      "categorical_accuracy", "sparse_categorical_accuracy",
      "mae"/"mean_absolute_error", "mse"/"mean_squared_error", "loss".
    loss_name: The training loss's name; needed only for "accuracy".

  Returns:
    A fresh metric. Its `name` is the log name: "accuracy", "mae", "mse",
    "loss", or the explicit accuracy name.

  Raises:
    ValueError: for an unknown metric name (the message lists the known
      ones), or "accuracy" with a loss that does not decide its kind.
  """
  key = str(name).lower()
  if key in _ACCURACY_NAMES:
    return _accuracy_for_loss(loss_name)(name="accuracy")
  if key not in _METRICS:
    known = sorted(list(_METRICS) + list(_ACCURACY_NAMES))
    raise ValueError(f"unknown metric {name!r}; use one of {known}.")
  metric_class, log_name = _METRICS[key]
  return metric_class(name=log_name)
