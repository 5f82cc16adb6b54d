"""The task: what ONE training, evaluation or prediction step computes.

    task = Task(model, "mse", optimizer, ["mae"], strategy=strategy)
    loss = task.train_step(element)   # cross-replica: strategy.run once

The single-replica view of Model Garden's `Task`: forward pass, per-example
loss, loss averaged over the GLOBAL batch, gradients, optimizer apply, and
metric updates (`_replica_train_step`), plus the evaluation and prediction
steps. It knows nothing of step counters, epochs, checkpoints or
summaries; the controller (engine/trainer.py) compiles its steps into loops
and drives them.

Metrics are example-weighted SUM/count variables created in the strategy
scope; the controller compiles `reset_metrics` and `result_tensors` into its
loop calls (before the first step and after the last).
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

import tensorflow as tf

from engine import losses as losses_lib
from engine import metrics as metrics_lib
from engine import mixed_precision
from engine.optimizers import loss_scale as loss_scale_lib
from engine.step_random import step_random


DUMMY_LENGTH = 8


def dummy_batch(spec) -> Any:
  """Zeros shaped like one batch of `spec`: a None batch dim becomes 1, other
  None dims `DUMMY_LENGTH` (so a convolution over any-length sequences has
  a window)."""
  return tf.nest.map_structure(
      lambda s: tf.zeros([d or (DUMMY_LENGTH if i else 1)
                          for i, d in enumerate(s.shape)], s.dtype), spec)


def features_of(element: Any) -> Any:
  """The features of an (x, y) or (x, y, w) element; x alone otherwise."""
  return element[0] if isinstance(element, tuple) else element


class Task:
  """Forward, loss, gradients, apply and metrics for one model.

  Args:
    model: a callable tf.Module: `model(x, training=...)`.
    loss: an engine.losses name or a per-example loss `fn(y, pred) -> [B]`.
    optimizer: an engine optimizer.
    metrics: engine.metrics names or metric objects.
    strategy: the tf.distribute strategy the steps run under.
    jit_compile: compile the replica training step with XLA (one replica
      only: the cross-replica all-reduce runs outside XLA).
    loss_scale: a DynamicLossScale (mixed_float16): the step differentiates
      the scaled loss and applies only finite, unscaled gradients.
    seed: seed of the training step's random draws (dropout). Once
      `step_variable` is set (the trainer sets its global step), each draw
      is a stateless function of (seed, global step, replica), so a resumed
      run draws what the uninterrupted one did.
  """

  def __init__(self, model, loss, optimizer, metrics: Sequence = (), *,
               strategy: tf.distribute.Strategy, jit_compile: bool = False,
               loss_scale: loss_scale_lib.DynamicLossScale | None = None,
               seed: int = 0):
    self.strategy = strategy
    self.seed = seed
    self.step_variable: tf.Variable | None = None
    self.model, self.optimizer = model, optimizer
    self.loss_scale = loss_scale
    self.loss_name = loss if isinstance(loss, str) else getattr(
        loss, "__name__", "loss")
    self.loss_fn = losses_lib.get(loss) if isinstance(loss, str) else loss
    with strategy.scope():
      self.metrics = [metrics_lib.get(m, self.loss_name)
                      if isinstance(m, str) else m for m in metrics]
      self.loss_metric = metrics_lib.Mean(name="loss")
    self.jit_compile = jit_compile and strategy.num_replicas_in_sync == 1
    self._replica_step_fn = (
        tf.function(self._replica_train_step, jit_compile=True)
        if self.jit_compile else self._replica_train_step)

  def build(self, element_spec) -> None:
    """Creates model and optimizer variables from one batch's spec."""
    with self.strategy.scope():
      self.model(dummy_batch(features_of(element_spec)), training=False)
      if hasattr(self.optimizer, "build"):
        self.optimizer.build(self.model.trainable_variables)

  def ensure_built(self, element_spec) -> None:
    """Builds only a model that has not been built yet."""
    if not getattr(self.model, "built", True):
      self.build(element_spec)

  # -- cross-replica steps (each calls strategy.run once) --------------------

  def train_step(self, element) -> tf.Tensor:
    """One training step on a distributed element; returns the global loss."""
    loss = self.strategy.run(self._replica_step_fn, args=(element,))
    return self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)

  def eval_step(self, element) -> None:
    """Updates the metrics with one distributed element."""
    self.strategy.run(self._replica_eval_step, args=(element,))

  def predict_step(self, x):
    """Model outputs for distributed features (per-replica values)."""
    return self.strategy.run(
        lambda inputs: self.model(inputs, training=False), args=(x,))

  # -- replica steps ------------------------------------------------------------

  def _replica_train_step(self, element):
    x, y = element[0], element[1]
    variables = self.model.trainable_variables
    with tf.GradientTape() as tape, self._step_random():
      # Mixed precision: losses and metrics see float32 outputs.
      pred = mixed_precision.to_float32(self.model(x, training=True))
      per_example = self.loss_fn(y, pred)
      loss, reg = self._scaled_loss(per_example)
      target = loss_scale_lib.loss_to_differentiate(loss, self.loss_scale)
    grads = tape.gradient(target, variables)
    loss_scale_lib.apply_gradients(self.optimizer, grads, variables,
                                   self.loss_scale)
    self._update_metrics(y, pred, per_example, reg)
    return loss

  def _step_random(self):
    if self.step_variable is None:
      return contextlib.nullcontext()
    return step_random(self.seed, self.step_variable)

  def _replica_eval_step(self, element) -> None:
    x, y = element[0], element[1]
    pred = mixed_precision.to_float32(self.model(x, training=False))
    per_example = self.loss_fn(y, pred)
    self._update_metrics(y, pred, per_example, self._regularization(
        per_example.dtype))

  def _regularization(self, dtype) -> tf.Tensor:
    terms = self.model.regularization_losses
    return tf.add_n(terms) if terms else tf.constant(0.0, dtype)

  def _scaled_loss(self, per_example):
    """Loss averaged over the GLOBAL batch; regularization counted once."""
    global_size = losses_lib.global_batch_size(tf.shape(per_example)[0])
    loss = losses_lib.compute_average_loss(per_example, global_size)
    reg_terms = self.model.regularization_losses
    return (loss + losses_lib.scale_regularization_loss(reg_terms),
            self._regularization(per_example.dtype))

  def _update_metrics(self, y, pred, per_example, reg) -> None:
    self.loss_metric.update(per_example + tf.cast(reg, per_example.dtype))
    for metric in self.metrics:
      metric.update(y, pred)

  # -- metrics (graph functions; the controller calls them eagerly) ----------

  def reset_metrics(self) -> None:
    """Zeros the loss and every metric."""
    self.loss_metric.reset()
    for metric in self.metrics:
      metric.reset()

  def metric_tensors(self) -> dict[str, tf.Tensor]:
    """The loss and each metric's `sum / count` so far."""
    tensors = {"loss": self.loss_metric.result()}
    for metric in self.metrics:
      tensors[metric.name] = metric.result()
    return tensors

  def result_tensors(self) -> dict[str, tf.Tensor]:
    """Metrics, learning rate (`lr`) and examples seen (`examples_seen`)."""
    tensors = self.metric_tensors()
    tensors["lr"] = tf.cast(self.optimizer.learning_rate_value(), tf.float32)
    # The loss metric counts every example since the last reset.
    tensors["examples_seen"] = tf.convert_to_tensor(self.loss_metric.count)
    return tensors
