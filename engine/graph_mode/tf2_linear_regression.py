"""The same linear regression in TF2: a Module, tf.function and GradientTape.

Side by side with `linear_regression.py`:

    graph mode                           TF2
    placeholders + feed_dict             arguments of a tf.function
    get_variable("w"), zeros             Module variable "w", zeros
    GradientDescentOptimizer.minimize    GradientTape + engine SGD.apply
    Session.run(train_op)                train_step(features, targets)
    FileWriter(graph=...)                tf.summary.graph(traced graph)

With the same data, zero initial weights and learning rate, both compute the
same float32 updates, so they reach the same weights.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from engine.errors import EngineUserError
from engine.graph_mode.regression_data import RegressionData
from engine.graph_mode.results import LossLog
from engine.graph_mode.results import RegressionResult
from engine.module import Module
from engine.optimizers.sgd import SGD


@dataclasses.dataclass(frozen=True)
class TF2RegressionResult(RegressionResult):
  """A RegressionResult plus the op names of the traced train step."""
  traced_ops: list[str]


class LinearRegression(Module):
  """predictions = features @ w, with w (D, 1) starting at zero."""

  def __init__(self, name: str | None = "linear_regression"):
    super().__init__(name=name)

  def _build(self, features: tf.Tensor) -> None:
    num_features = features.shape[-1]
    if num_features is None:
      raise ValueError(
          f"{self.name}: the last input dim must be static at build time, "
          f"got shape {features.shape}.")
    self.w = tf.Variable(tf.zeros([num_features, 1], features.dtype),
                         name="w")

  def __call__(self, features: tf.Tensor) -> tf.Tensor:
    self._build_once(features)
    return tf.matmul(features, self.w)


def mean_squared_error(predictions: tf.Tensor,
                       targets: tf.Tensor) -> tf.Tensor:
  """mean((predictions - targets)**2) over the whole batch."""
  return tf.reduce_mean(tf.square(predictions - targets))


def make_train_step(model: LinearRegression, optimizer: SGD,
                    num_features: int, step: tf.Variable):
  """A tf.function doing one full-batch update; it returns the loss before it.

  Args:
    model: a built LinearRegression.
    optimizer: anything with `apply(grads, var_list)`.
    num_features: D, fixed in the input signature so it traces once.
    step: int64 variable, incremented once per update.

  Returns:
    The tf.function `train_step(features, targets) -> loss`.
  """
  signature = [tf.TensorSpec([None, num_features], tf.float32, "features"),
               tf.TensorSpec([None, 1], tf.float32, "targets")]

  @tf.function(input_signature=signature)
  def train_step(features, targets):
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
      loss = mean_squared_error(model(features), targets)
    gradients = tape.gradient(loss, variables)
    optimizer.apply(gradients, variables)
    step.assign_add(1)
    return loss

  return train_step


def traced_op_names(train_step) -> list[str]:
  """The TF2 view of "the graph": op names of the traced concrete function."""
  graph = train_step.get_concrete_function().graph
  return [op.name for op in graph.get_operations()]


def write_traced_graph(train_step, logdir: str) -> None:
  """Writes the train step's traced graph for TensorBoard's Graphs tab."""
  writer = tf.summary.create_file_writer(logdir)
  with writer.as_default():
    tf.summary.graph(train_step.get_concrete_function().graph)
  writer.close()


def fit_linear_regression_tf2(data: RegressionData, num_steps: int = 300,
                              learning_rate: float = 0.1,
                              logdir: str | None = None, log_every: int = 50,
                              on_log: Callable[[LossLog], None] | None = None
                              ) -> TF2RegressionResult:
  """Trains LinearRegression with the engine's SGD, full batch, eagerly looped.

  Args:
    data: the full batch (the same arrays the graph-mode run gets).
    num_steps: updates to run (>= 1).
    learning_rate: SGD step size (> 0).
    logdir: if set, the traced graph and scalars "regression/loss",
      "regression/w<i>" are written there.
    log_every: log the loss at steps divisible by it; the loss after the last
      update is always logged.
    on_log: called with each LossLog as soon as it is known.

  Returns:
    The found weights, the logged losses, the final step and the op names
    of the traced train step.
  """
  if num_steps < 1 or log_every < 1 or not learning_rate > 0:
    raise EngineUserError(
        f"need num_steps >= 1, log_every >= 1 and learning_rate > 0, got "
        f"{num_steps}, {log_every} and {learning_rate}.")
  features = tf.constant(data.features)
  targets = tf.constant(data.targets)
  model = LinearRegression()
  model(features[:1])  # Build first: the traced step only reads "w".
  step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
  optimizer = SGD(learning_rate)
  optimizer.build(model.trainable_variables)
  train_step = make_train_step(model, optimizer, data.num_features, step)
  writer = (tf.summary.create_file_writer(logdir) if logdir
            else tf.summary.create_noop_writer())
  history = []

  def log(at_step, loss):
    history.append(LossLog(at_step, float(loss)))
    if on_log is not None:
      on_log(history[-1])

  with writer.as_default():
    for at_step in range(num_steps):
      weights = model.w.numpy()
      loss = train_step(features, targets)
      _write_scalars(at_step, loss, weights)
      if at_step % log_every == 0:
        log(at_step, loss)
    final_loss = mean_squared_error(model(features), targets)
    _write_scalars(num_steps, final_loss, model.w.numpy())
    log(num_steps, final_loss)
  writer.close()
  if logdir:
    write_traced_graph(train_step, logdir)
  return TF2RegressionResult(model.w.numpy(), history,
                             int(step.numpy()), traced_op_names(train_step))


def _write_scalars(at_step: int, loss: tf.Tensor, weights: np.ndarray) -> None:
  tf.summary.scalar("regression/loss", loss, step=at_step)
  for i, value in enumerate(weights[:, 0]):
    tf.summary.scalar(f"regression/w{i}", value, step=at_step)
