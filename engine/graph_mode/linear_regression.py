"""Linear regression as a `tf.compat.v1` graph, trained with a Session.

    features: placeholder (None, D)      targets: placeholder (None, 1)
    w:        get_variable (D, 1), zeros
    loss = mean((features @ w - targets)**2)
    train_op = GradientDescentOptimizer(lr).minimize(loss, global_step)

Every session run feeds the whole data set (full batch). The graph also holds
`tf.compat.v1.summary` scalars ("regression/loss", "regression/w0", ...)
merged with
`merge_all()`, so a FileWriter shows the graph and the curves in TensorBoard.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from engine.errors import EngineUserError
from engine.graph_mode import session_run
from engine.graph_mode import summary_writing
from engine.graph_mode.regression_data import RegressionData
from engine.graph_mode.results import LossLog
from engine.graph_mode.results import RegressionResult

v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class LinearRegressionGraph:
  """The tensors and ops of one linear-regression graph."""
  graph: tf.Graph
  features: tf.Tensor
  targets: tf.Tensor
  weights: tf.Variable
  loss: tf.Tensor
  train_op: tf.Operation
  global_step: tf.Variable
  summaries: tf.Tensor
  init: tf.Operation

  def feed(self, data: RegressionData) -> dict:
    """The feed_dict of the full batch."""
    if data.num_features != self.features.shape[1]:
      raise EngineUserError(
          f"the data has {data.num_features} features but the graph was built"
          f" for {self.features.shape[1]}; build it with num_features="
          f"{data.num_features}.")
    return {self.features: data.features, self.targets: data.targets}


def build_linear_regression(num_features: int,
                            learning_rate: float) -> LinearRegressionGraph:
  """Builds the regression graph in a new `tf.Graph`.

  Args:
    num_features: D, the width of the features placeholder.
    learning_rate: step size of the GradientDescentOptimizer (> 0).

  Returns:
    The built graph's tensors.

  Raises:
    EngineUserError: learning_rate <= 0 or num_features < 1.
  """
  if not learning_rate > 0 or num_features < 1:
    raise EngineUserError(
        f"need learning_rate > 0 and num_features >= 1, got {learning_rate} "
        f"and {num_features}.")
  graph = tf.Graph()
  with graph.as_default():
    features = v1.placeholder(tf.float32, (None, num_features), "features")
    targets = v1.placeholder(tf.float32, (None, 1), "targets")
    weights = v1.get_variable("w", (num_features, 1), tf.float32,
                              initializer=v1.zeros_initializer())
    predictions = tf.matmul(features, weights, name="predictions")
    loss = tf.reduce_mean(tf.square(predictions - targets), name="mse")
    global_step = v1.train.get_or_create_global_step()
    train_op = v1.train.GradientDescentOptimizer(learning_rate).minimize(
        loss, global_step=global_step)
    # Tags get their own scope: a tag equal to an op name gets a "_1".
    v1.summary.scalar("regression/loss", loss)
    for i in range(num_features):
      v1.summary.scalar(f"regression/w{i}", weights[i, 0])
    summaries = v1.summary.merge_all()
    init = v1.global_variables_initializer()
  return LinearRegressionGraph(graph, features, targets, weights, loss,
                               train_op, global_step, summaries, init)


def train_steps(session: v1.Session, model: LinearRegressionGraph,
                data: RegressionData, num_steps: int, *, writer=None,
                log_every: int = 50,
                on_log: Callable[[LossLog], None] | None = None,
                after_step: Callable[[int], None] | None = None
                ) -> list[LossLog]:
  """Runs `num_steps` full-batch updates from the session's global step.

  The loss of a run is computed with the weights before its update, so the
  run that starts at global step s reports the loss after s updates.

  Args:
    session: a session on `model.graph` whose variables are initialized or
      restored.
    model: the graph's tensors.
    data: the full batch to feed.
    num_steps: updates to run (>= 1).
    writer: a FileWriter (or NullWriter) for the merged summaries.
    log_every: log (and pass to `on_log`) the loss at steps divisible by it;
      the loss after the last update is always logged.
    on_log: called with each LossLog as soon as it is known.
    after_step: called with the new global step after each update.

  Returns:
    The logged losses.
  """
  if num_steps < 1 or log_every < 1:
    raise EngineUserError(
        f"need num_steps >= 1 and log_every >= 1, got {num_steps} and "
        f"{log_every}.")
  writer = writer or summary_writing.NullWriter()
  feed = model.feed(data)
  fetches = [model.loss, model.summaries]
  history = []

  def log(step, loss):
    history.append(LossLog(step, float(loss)))
    if on_log is not None:
      on_log(history[-1])

  start = int(session_run.run(session, model.global_step))
  for step in range(start, start + num_steps):
    loss, summary, _ = session_run.run(session, fetches + [model.train_op],
                                       feed)
    writer.add_summary(summary, step)
    if step % log_every == 0:
      log(step, loss)
    if after_step is not None:
      after_step(step + 1)
  loss, summary = session_run.run(session, fetches, feed)
  writer.add_summary(summary, start + num_steps)
  log(start + num_steps, loss)
  writer.flush()
  return history


def fit_linear_regression(data: RegressionData, num_steps: int = 300,
                          learning_rate: float = 0.1,
                          logdir: str | None = None, log_every: int = 50,
                          on_log: Callable[[LossLog], None] | None = None
                          ) -> RegressionResult:
  """Builds the graph, initializes it and trains it for `num_steps` steps.

  Args:
    data: the full batch.
    num_steps: full-batch gradient-descent updates (>= 1).
    learning_rate: the optimizer's step size (> 0).
    logdir: if set, the graph and the scalar summaries are written there.
    log_every: see `train_steps`.
    on_log: see `train_steps`.

  Returns:
    The found weights, the logged losses and the final global step.
  """
  model = build_linear_regression(data.num_features, learning_rate)
  with summary_writing.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    session_run.run(session, model.init)
    history = train_steps(session, model, data, num_steps, writer=writer,
                          log_every=log_every, on_log=on_log)
    weights, step = session_run.run(session,
                                    [model.weights, model.global_step])
  return RegressionResult(np.asarray(weights), history, int(step))
