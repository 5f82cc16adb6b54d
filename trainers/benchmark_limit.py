"""The benchmark's limit: a bare hand-written compiled loop over a model.

    run(epochs):                       # ONE tf.function call for all epochs
      for _ in tf.range(epochs):
        for _ in tf.range(steps_per_epoch):
          x, y = next(train_iterator)  # one iterator over the repeated data
          loss = mean(loss_fn(y, model(x)))
          fused_apply(tape.gradient(loss, variables))
        for _ in tf.range(validation_batches):   # validation, same call
          x, y = next(validation_iterator)
          val_sum += sum(loss_fn(y, model(x, training=False)))

No strategy, metrics objects, summaries, progress, checkpoints or eager
per-epoch work: what TensorFlow itself can do with the same model, data and
optimizer math (TF's fused apply kernels, as the engine's optimizers use).
The trainers' figure `of_limit` is ours / this loop's examples per second.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import tensorflow as tf


class FusedOptimizer(tf.Module):
  """SGD (momentum), Adam or RMSprop as ONE fused TF kernel per variable.

  Args:
    name: "sgd", "adam" or "rmsprop" (an engine optimizer name).
    learning_rate: the constant learning rate.
    variables: the variables it updates (slots are made for them now).
    **kwargs: the recipe's optimizer arguments (momentum, beta_1, rho, ...).
  """

  def __init__(self, name: str, learning_rate: float, variables,
               **kwargs: Any):
    super().__init__(name=f"fused_{name}")
    if name not in ("sgd", "adam", "rmsprop"):
      raise ValueError(f"no fused apply for optimizer {name!r}; expected "
                       "sgd, adam or rmsprop")
    self.kind, self.lr = name, float(learning_rate)
    self.kwargs = dict(kwargs)
    self.step = tf.Variable(0.0, trainable=False, name="step")
    zeros = lambda v: tf.Variable(tf.zeros_like(v), trainable=False)
    self.first = [zeros(v) for v in variables]
    self.second = [zeros(v) for v in variables]

  def apply(self, grads, variables) -> None:
    """One update of every variable (IndexedSlices are densified)."""
    step = self.step.assign_add(1.0)
    for i, (grad, var) in enumerate(zip(grads, variables)):
      if grad is None:
        continue
      self._apply_one(tf.convert_to_tensor(grad), var, i, step)

  def _apply_one(self, grad, var, i, step) -> None:
    lr = tf.cast(self.lr, var.dtype)
    if self.kind == "sgd":
      momentum = self.kwargs.get("momentum", 0.0)
      if not momentum:
        tf.raw_ops.ResourceApplyGradientDescent(var=var.handle, alpha=lr,
                                                delta=grad)
        return
      tf.raw_ops.ResourceApplyKerasMomentum(
          var=var.handle, accum=self.first[i].handle, lr=lr, grad=grad,
          momentum=tf.cast(momentum, var.dtype),
          use_nesterov=bool(self.kwargs.get("nesterov", False)))
    elif self.kind == "adam":
      beta_1 = tf.cast(self.kwargs.get("beta_1", 0.9), var.dtype)
      beta_2 = tf.cast(self.kwargs.get("beta_2", 0.999), var.dtype)
      tf.raw_ops.ResourceApplyAdam(
          var=var.handle, m=self.first[i].handle, v=self.second[i].handle,
          beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
          lr=lr, beta1=beta_1, beta2=beta_2,
          epsilon=tf.cast(self.kwargs.get("epsilon", 1e-7), var.dtype),
          grad=grad)
    else:
      tf.raw_ops.ResourceApplyRMSProp(
          var=var.handle, ms=self.first[i].handle, mom=self.second[i].handle,
          lr=lr, rho=tf.cast(self.kwargs.get("rho", 0.9), var.dtype),
          momentum=tf.cast(self.kwargs.get("momentum", 0.0), var.dtype),
          epsilon=tf.cast(self.kwargs.get("epsilon", 1e-7), var.dtype),
          grad=grad)


class BareLoop:
  """Trains `model` for whole epochs in one compiled call (see module doc).

  Args:
    model: a built engine model (its own copy; the loop trains it).
    loss_fn: per-example loss `fn(y, pred) -> [B]`.
    optimizer: a FusedOptimizer over `model.trainable_variables`.
    train: one epoch's batched (x, y) dataset; repeated, one iterator.
    steps_per_epoch: training steps per epoch.
    validation: batched (x, y) dataset evaluated after every epoch, or None.
  """

  def __init__(self, model, loss_fn: Callable, optimizer: FusedOptimizer,
               train: tf.data.Dataset, steps_per_epoch: int,
               validation: tf.data.Dataset | None):
    self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
    self.variables = list(model.trainable_variables)
    self.steps_per_epoch = tf.constant(steps_per_epoch, tf.int32)
    self.iterator = iter(train.repeat())
    self.validation_batches = 0
    if validation is not None:
      # One repeating iterator, like training's: a dataset iterated inside
      # the graph is rebuilt every epoch, which costs more than the math.
      self.validation_batches = int(validation.reduce(0, lambda n, _: n + 1))
      self.validation_iterator = iter(validation.repeat())
    self.loss_sum = tf.Variable(0.0, trainable=False)
    self.val_loss_sum = tf.Variable(0.0, trainable=False)
    self._run = tf.function(self._epochs)

  def _train_step(self, x, y) -> None:
    with tf.GradientTape() as tape:
      per_example = self.loss_fn(y, self.model(x, training=True))
      loss = tf.reduce_mean(per_example)
    grads = tape.gradient(loss, self.variables)
    self.optimizer.apply(grads, self.variables)
    self.loss_sum.assign(tf.cast(loss, tf.float32))

  def _validate(self) -> None:
    self.val_loss_sum.assign(0.0)
    for _ in tf.range(self.validation_batches):
      x, y = next(self.validation_iterator)[:2]
      per_example = self.loss_fn(y, self.model(x, training=False))
      self.val_loss_sum.assign_add(
          tf.cast(tf.reduce_sum(per_example), tf.float32))

  def _epochs(self, epochs):
    for _ in tf.range(epochs):
      for _ in tf.range(self.steps_per_epoch):
        x, y = next(self.iterator)[:2]
        self._train_step(x, y)
      if self.validation_batches:
        self._validate()
    return self.loss_sum.read_value()

  def run(self, epochs: int) -> float:
    """Trains `epochs` epochs (0: one empty call); the last step's loss."""
    return float(self._run(tf.constant(epochs, tf.int32)))


def copy_weights(source, target) -> None:
  """Assigns every variable of `source` to the same-position one in `target`.

  Raises:
    ValueError: the two models' variables differ in number or shape.
  """
  ours, theirs = list(source.variables), list(target.variables)
  if len(ours) != len(theirs) or any(
      a.shape != b.shape for a, b in zip(ours, theirs)):
    raise ValueError(f"cannot copy weights: {len(ours)} vs {len(theirs)} "
                     "variables or different shapes")
  for a, b in zip(ours, theirs):
    b.assign(a)


def make_bare_loop(recipe, hparams: Mapping[str, Any], trainer, train,
                   steps_per_epoch: int, validation) -> BareLoop:
  """The limit loop for `recipe`, starting from `trainer.model`'s weights."""
  from engine.trainer import dummy_batch, features_of
  model = recipe.build_model(hparams)
  model(dummy_batch(features_of(train.element_spec)), training=False)
  copy_weights(trainer.model, model)
  optimizer = FusedOptimizer(recipe.optimizer, hparams["learning_rate"],
                             model.trainable_variables,
                             **recipe.optimizer_kwargs)
  return BareLoop(model, trainer.loss_fn, optimizer, train, steps_per_epoch,
                  validation)
