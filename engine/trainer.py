"""The outer loop: epochs or a step budget, validation, hooks, checkpoints.

    trainer = Trainer(model, "mse", optimizer, ["mae"], model_dir=d)
    history = trainer.fit(data_fn, epochs=10, validation=val_ds)

`fit` runs eagerly and calls the compiled inner loop (engine/loop.py) for
`steps_per_loop` steps at a time. Around each call it writes scalars, checks
the loss for NaN/Inf, prints progress and saves checkpoints. The same code
runs on one device and under any tf.distribute strategy: every step goes
through `strategy.run`, the loss is averaged over the GLOBAL batch, and
metrics are example-weighted SUM/count variables.

Create the model, optimizer and metrics inside `strategy.scope()`; the
trainer builds the model and the optimizer's slots there too.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from engine import distribute
from engine import losses as losses_lib
from engine import metrics as metrics_lib
from engine.checkpoint import RunCheckpoint
from engine.errors import NonFiniteLossError
from engine.history import History
from engine.hooks import Hook
from engine.interrupt import GracefulInterrupt, TrainingInterrupted
from engine.loop import make_loop_fn
from engine.progress import Progress
from engine.step_random import step_random
from engine.summaries import SummaryWriters, trace_graph

HISTORY_FILE = "history.json"
_INTERRUPTED = "interrupted"
_EVAL_ALL = 2**31 - 1


def dummy_batch(spec) -> Any:
  """Zeros shaped like one batch of `spec` (None dims become 1)."""
  return tf.nest.map_structure(
      lambda s: tf.zeros([d or 1 for d in s.shape], s.dtype), spec)


def features_of(element: Any) -> Any:
  """The features of an (x, y) or (x, y, w) element; x alone otherwise."""
  return element[0] if isinstance(element, tuple) else element


class Trainer:
  """Trains, evaluates and predicts with one model under one strategy.

  Args:
    model: a callable tf.Module: `model(x, training=...)`.
    loss: an engine.losses name or a per-example loss `fn(y, pred) -> [B]`.
    optimizer: an engine optimizer.
    metrics: engine.metrics names or metric objects.
    strategy: a tf.distribute strategy (default: the current one).
    model_dir: checkpoints, `train/` and `eval/` logs; None keeps nothing.
    steps_per_loop: training steps per compiled loop call.
    checkpoint_every: save every N steps (None: at the end only).
    summary_every: scalar summaries every N steps.
    histogram_every: weight histograms every N steps (None: per epoch end).
    max_to_keep: checkpoints kept.
    progress_interval: seconds between mid-epoch progress lines.
    print_fn: where progress lines go; None silences them.
    on_nan: "raise" (NonFiniteLossError) or "stop" (end fit quietly, as a
      learning-rate sweep wants); either way nothing is saved after it.
    jit_compile: compile each step's math (forward, backward, update) with
      XLA; applies on one replica only (the cross-replica all-reduce runs
      outside XLA).
    seed: seed of the training step's random draws (dropout): each is a
      stateless function of (seed, global step, replica), so a resumed run
      draws what the uninterrupted one did.
  """

  def __init__(self, model, loss, optimizer, metrics: Sequence = (), *,
               strategy: tf.distribute.Strategy | None = None,
               model_dir: str | None = None, steps_per_loop: int = 100,
               checkpoint_every: int | None = None, summary_every: int = 100,
               histogram_every: int | None = None, max_to_keep: int = 5,
               progress_interval: float = 10.0,
               print_fn: Callable[[str], None] | None = print,
               on_nan: str = "raise", jit_compile: bool = False,
               seed: int = 0):
    _check_positive(steps_per_loop=steps_per_loop, summary_every=summary_every,
                    checkpoint_every=checkpoint_every,
                    histogram_every=histogram_every, max_to_keep=max_to_keep)
    if on_nan not in ("raise", "stop"):
      raise ValueError(f"on_nan must be 'raise' or 'stop', got {on_nan!r}")
    self.on_nan = on_nan
    self.seed = seed
    self.strategy = strategy or tf.distribute.get_strategy()
    self.model, self.optimizer = model, optimizer
    self.loss_name = loss if isinstance(loss, str) else getattr(
        loss, "__name__", "loss")
    self.loss_fn = losses_lib.get(loss) if isinstance(loss, str) else loss
    self.model_dir = model_dir
    self.steps_per_loop = steps_per_loop
    self.checkpoint_every = checkpoint_every
    self.summary_every = summary_every
    self.histogram_every = histogram_every
    self.progress_interval = progress_interval
    self.print_fn = print_fn
    with self.strategy.scope():
      self.metrics = [metrics_lib.get(m, self.loss_name)
                      if isinstance(m, str) else m for m in metrics]
      self.loss_metric = metrics_lib.Mean(name="loss")
      self.global_step = tf.Variable(
          0, dtype=tf.int64, trainable=False, name="global_step",
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
      self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                               name="epoch")
      self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                       name="step_in_epoch")
    # Only the chief logs; other workers would duplicate every event.
    self.writers = SummaryWriters(
        model_dir if distribute.is_chief(self.strategy) else None)
    self._checkpoint: RunCheckpoint | None = None
    self._max_to_keep = max_to_keep
    self._train_loop = make_loop_fn(self._train_step)
    self._eval_loop = make_loop_fn(self._eval_step)
    self._predict_fn = tf.function(self._predict_step)
    self.jit_compile = jit_compile and self.strategy.num_replicas_in_sync == 1
    self._replica_step_fn = (
        tf.function(self._replica_train_step, jit_compile=True)
        if self.jit_compile else self._replica_train_step)
    self._reset_fn = tf.function(self._reset_metrics)
    self._metric_fn = tf.function(self._metric_tensors)
    self._results_fn = tf.function(self._all_results)
    self._step = self._epoch = self._step_in_epoch = self._examples = 0
    self._last_dataset = self._repeating = None
    self._graph_written = False
    self._steps_per_epoch: int | None = None
    self._poisoned = False
    self._interrupt: GracefulInterrupt | None = None

  # -- building and restoring ----------------------------------------------

  def build(self, element_spec) -> None:
    """Creates model and optimizer variables from one batch's spec."""
    with self.strategy.scope():
      self.model(dummy_batch(features_of(element_spec)), training=False)
      if hasattr(self.optimizer, "build"):
        self.optimizer.build(self.model.trainable_variables)

  @property
  def checkpoint(self) -> RunCheckpoint | None:
    """The run's checkpoint (None without a model_dir)."""
    if self._checkpoint is None and self.model_dir:
      self._checkpoint = RunCheckpoint(
          self.model_dir, max_to_keep=self._max_to_keep,
          is_chief=distribute.is_chief(self.strategy), model=self.model,
          optimizer=self.optimizer, global_step=self.global_step,
          epoch=self.epoch, step_in_epoch=self.step_in_epoch)
    return self._checkpoint

  def restore(self) -> str | None:
    """Restores the newest checkpoint of model_dir, if any; returns it."""
    if self.checkpoint is None:
      return None
    with self.strategy.scope():
      path = self.checkpoint.restore_latest()
    self._step = int(self.global_step.numpy())
    self._epoch = int(self.epoch.numpy())
    self._step_in_epoch = int(self.step_in_epoch.numpy())
    return path

  @property
  def epochs_done(self) -> int:
    """Epochs finished so far (including those before a resume)."""
    return self._epoch

  @property
  def steps_done(self) -> int:
    """Training steps taken so far (the global step)."""
    return self._step

  def _restore_keeping_learning_rate(self) -> None:
    """Restores, but the rate the optimizer was built with wins.

    A re-run with another --learning_rate means that rate; the same command
    gets the same rate, so an exact resume is unaffected.
    """
    variable = getattr(self.optimizer, "learning_rate_variable", None)
    configured = None if variable is None else float(variable.numpy())
    self.restore()
    if configured is not None:
      self.optimizer.set_learning_rate(configured)

  def save(self) -> str | None:
    """Saves a checkpoint numbered by the global step."""
    if self.checkpoint is None:
      return None
    self.epoch.assign(self._epoch)
    self.step_in_epoch.assign(self._step_in_epoch)
    return self.checkpoint.save(int(self.global_step.numpy()))

  # -- the steps (cross-replica; each calls strategy.run once) --------------

  def _train_step(self, element) -> None:
    loss = self.strategy.run(self._replica_step_fn, args=(element,))
    self.global_step.assign_add(1)
    # Written only at steps the caller's record_if predicate selects; the
    # empty name scope drops the while loop's "while/cond/" prefix.
    with tf.name_scope(""):
      tf.summary.scalar("step_loss", self.strategy.reduce(
          tf.distribute.ReduceOp.SUM, loss, axis=None))

  def _replica_train_step(self, element):
    x, y = element[0], element[1]
    variables = self.model.trainable_variables
    with tf.GradientTape() as tape, step_random(self.seed, self.global_step):
      pred = self.model(x, training=True)
      per_example = self.loss_fn(y, pred)
      loss, reg = self._scaled_loss(per_example)
    grads = tape.gradient(loss, variables)
    self.optimizer.apply(grads, variables)
    self._update_metrics(y, pred, per_example, reg)
    return loss

  def _scaled_loss(self, per_example):
    """Loss averaged over the GLOBAL batch; regularization counted once."""
    global_size = losses_lib.global_batch_size(tf.shape(per_example)[0])
    loss = losses_lib.compute_average_loss(per_example, global_size)
    reg_terms = self.model.regularization_losses
    reg = tf.add_n(reg_terms) if reg_terms else tf.constant(
        0.0, per_example.dtype)
    return loss + losses_lib.scale_regularization_loss(reg_terms), reg

  def _update_metrics(self, y, pred, per_example, reg) -> None:
    self.loss_metric.update(per_example + tf.cast(reg, per_example.dtype))
    for metric in self.metrics:
      metric.update(y, pred)

  def _eval_step(self, element) -> None:
    self.strategy.run(self._replica_eval_step, args=(element,))

  def _replica_eval_step(self, element) -> None:
    x, y = element[0], element[1]
    pred = self.model(x, training=False)
    per_example = self.loss_fn(y, pred)
    reg_terms = self.model.regularization_losses
    reg = tf.add_n(reg_terms) if reg_terms else 0.0
    self._update_metrics(y, pred, per_example, reg)

  def _predict_step(self, x):
    return self.strategy.run(
        lambda inputs: self.model(inputs, training=False), args=(x,))

  # -- metrics ----------------------------------------------------------------

  def _reset_metrics(self) -> None:
    self.loss_metric.reset()
    for metric in self.metrics:
      metric.reset()

  def _metric_tensors(self) -> dict[str, tf.Tensor]:
    tensors = {"loss": self.loss_metric.result()}
    for metric in self.metrics:
      tensors[metric.name] = metric.result()
    return tensors

  def _all_results(self) -> dict[str, tf.Tensor]:
    """Metrics, learning rate and example count in ONE graph call."""
    tensors = self._metric_tensors()
    tensors["lr"] = tf.cast(self.optimizer.learning_rate_value(), tf.float32)
    # The loss metric counts every example of the epoch so far.
    tensors["examples_seen"] = tf.convert_to_tensor(self.loss_metric.count)
    return tensors

  def _results(self) -> dict[str, float]:
    values = {k: v.numpy() for k, v in self._results_fn().items()}
    values["examples_seen"] = int(values["examples_seen"])
    return {k: (v if k == "examples_seen" else float(v))
            for k, v in values.items()}

  def _metric_logs(self) -> dict[str, float]:
    return {k: float(v.numpy())
            for k, v in self._metric_fn().items()}

  # -- public API ---------------------------------------------------------------

  def evaluate(self, dataset: tf.data.Dataset) -> dict[str, float]:
    """Loss and metrics over the whole dataset (example-weighted)."""
    self._ensure_built(dataset.element_spec)
    self._reset_fn()
    iterator = iter(distribute.distribute(self.strategy, dataset))
    self._eval_loop(iterator, tf.constant(_EVAL_ALL))
    return self._metric_logs()

  def predict(self, dataset: tf.data.Dataset) -> np.ndarray:
    """Model outputs for every element, in order, as one array."""
    self._ensure_built(dataset.element_spec)
    outputs = []
    for element in distribute.distribute(self.strategy, dataset):
      result = self._predict_fn(features_of(element))
      outputs.extend(t.numpy() for t in
                     distribute.local_values(self.strategy, result))
    return np.concatenate(outputs, axis=0)

  def _ensure_built(self, element_spec) -> None:
    if not getattr(self.model, "built", True):
      self.build(element_spec)

  def fit(self, data_fn: Callable[[int], tf.data.Dataset], *,
          epochs: int | None = None, train_steps: int | None = None,
          validation: tf.data.Dataset | None = None,
          steps_per_epoch: int | None = None,
          hooks: Iterable[Hook] = (),
          interrupt: GracefulInterrupt | None = None) -> History:
    """Trains until `epochs` epochs or `train_steps` steps are done.

    Resumes from model_dir's newest checkpoint: at the same epoch and the
    same batch within it (the epoch's dataset is rebuilt and the batches
    already trained on are skipped).

    Args:
      data_fn: epoch -> batched (x, y) dataset, deterministic per epoch.
        Returning the very same dataset object every epoch (full-batch
        data) lets the loop keep one repeating iterator across epochs.
      epochs: number of passes over the data (ignored if train_steps set).
      train_steps: total step budget; the data is re-read epoch after
        epoch until it is spent.
      validation: batched dataset evaluated at every epoch end.
      steps_per_epoch: batches per epoch, when known (for ETA and to avoid
        an empty loop call at the end of each epoch).
      hooks: epoch hooks (threshold stop, early stopping, lr schedule).
      interrupt: polled after each loop call and epoch; once it holds a
        signal, the step reached is saved and TrainingInterrupted raised.

    Returns:
      The History, including epochs from before a resume.

    Raises:
      TrainingInterrupted: `interrupt` received a signal; the checkpoint,
        history and summaries of the step reached are written.
      NonFiniteLossError: the loss became NaN/Inf; nothing is saved after
        that, so model_dir keeps the last good checkpoint.
    """
    if (epochs is None) == (train_steps is None):
      raise ValueError("fit needs exactly one of epochs or train_steps")
    _check_positive(epochs=epochs, train_steps=train_steps)
    hooks = list(hooks)
    self.build(data_fn(0).element_spec)
    self._restore_keeping_learning_rate()
    history = self._load_history()
    total = train_steps or (epochs * steps_per_epoch if steps_per_epoch
                            else None)
    progress = Progress(total, None if train_steps else epochs,
                        self.progress_interval, self.print_fn or _silent)
    progress.start(self._step)
    self._steps_per_epoch = steps_per_epoch
    self._poisoned = False
    self._last_dataset = self._repeating = None
    self._interrupt = interrupt
    while not self._finished(epochs, train_steps):
      stop = self._run_epoch(data_fn, train_steps, validation, hooks,
                             history, progress)
      if stop == _INTERRUPTED or (self._interrupted() and not stop):
        self._stop_interrupted(history)
      if stop:
        history.stop_reason = stop
        self._say(stop)
        break
    self._last_dataset = self._repeating = None
    if not self._poisoned:
      self.save()
      self._save_history(history)
    self.writers.flush()
    return history

  # -- the epoch ----------------------------------------------------------------

  def _finished(self, epochs, train_steps) -> bool:
    if train_steps is not None:
      return self._step >= train_steps
    return self._epoch >= epochs

  def _epoch_iterator(self, data_fn, epoch: int, skip: int):
    """An iterator over the epoch's data, positioned after `skip` batches."""
    dataset = data_fn(epoch)
    same = dataset is self._last_dataset and not skip
    self._last_dataset = dataset
    if same and self._steps_per_epoch:
      # Identical data every epoch: one repeating iterator saves the cost of
      # creating and tearing down an iterator per epoch.
      if self._repeating is None:
        self._repeating = iter(
            distribute.distribute(self.strategy, dataset.repeat()))
      return self._repeating
    self._repeating = None
    if skip:
      dataset = dataset.skip(skip)
    return iter(distribute.distribute(self.strategy, dataset))

  def _run_epoch(self, data_fn, train_steps, validation, hooks, history,
                 progress) -> str | None:
    epoch, skip = self._epoch, self._step_in_epoch
    for hook in hooks:  # also when resuming mid-epoch: the lr of this epoch
      hook.on_epoch_begin(self, epoch)
    self._reset_fn()
    self._examples = 0
    started = time.monotonic()
    iterator = self._epoch_iterator(data_fn, epoch, skip)
    while True:
      num_steps = self._next_chunk(train_steps)
      ran, logs = self._run_loop(iterator, num_steps)
      progress.warmed_up(self._step)
      problem = self._non_finite_loss(logs["loss"])
      if problem:
        return problem
      epoch_done = ran < num_steps or (
          self._steps_per_epoch is not None and
          self._step_in_epoch >= self._steps_per_epoch)
      budget_done = train_steps is not None and self._step >= train_steps
      if epoch_done or budget_done:
        break
      self._maybe_checkpoint(ran)
      if self._interrupted():
        return _INTERRUPTED
      progress.maybe_mid_epoch(epoch, self._step, _without_lr(logs))
    if not epoch_done:
      # The step budget ended mid-epoch: keep the data position.
      self._maybe_checkpoint(ran)
      return None
    if self._steps_per_epoch is None and skip == 0:
      # Learnt once, so later epochs end without an empty loop call.
      self._steps_per_epoch = self._step_in_epoch
    return self._end_epoch(epoch, started, validation, hooks, history,
                           progress, ran, logs)

  def _next_chunk(self, train_steps) -> int:
    step, n = self._step, self.steps_per_loop
    if self.checkpoint_every:
      n = min(n, self.checkpoint_every - step % self.checkpoint_every)
    if train_steps is not None:
      n = min(n, train_steps - step)
    if self._steps_per_epoch is not None:
      n = min(n, max(self._steps_per_epoch - self._step_in_epoch, 1))
    return max(n, 1)

  def _run_loop(self, iterator, num_steps: int) -> tuple[int, dict]:
    """One compiled loop call; returns (steps run, metric logs after it)."""
    before = self._step
    examples_before = self._examples
    started = time.monotonic()
    with self.writers.writer("train").as_default(step=self.global_step):
      with tf.summary.record_if(self._record_predicate):
        args = (iterator, tf.constant(num_steps, tf.int32))
        if not self._graph_written:
          ran = trace_graph(self.writers, "train", self._train_loop, *args)
          self._graph_written = True
        else:
          ran = self._train_loop(*args)
    logs = self._results()
    ran = int(ran)
    seconds = max(time.monotonic() - started, 1e-9)
    self._step += ran
    self._step_in_epoch += ran
    self._examples = logs.pop("examples_seen")
    if ran:
      self._write_train_scalars(before, ran, seconds, examples_before, logs)
    return ran, logs

  def _record_predicate(self):
    return tf.equal(self.global_step % self.summary_every, 0)

  def _write_train_scalars(self, before, ran, seconds, examples_before,
                           logs):
    step = self._step
    if before // self.summary_every == step // self.summary_every:
      return
    values = _without_lr(logs)
    values.update({"learning_rate": logs["lr"],
                   "steps_per_sec": ran / seconds,
                   "examples_per_sec": (self._examples - examples_before)
                                       / seconds})
    self.writers.scalars("train", values, step)
    if self.histogram_every and (
        before // self.histogram_every != step // self.histogram_every):
      self.writers.histograms("train", self.model, step)

  def _non_finite_loss(self, loss: float) -> str | None:
    """None while the loss is finite; else stops (see `on_nan`)."""
    if np.isfinite(loss):
      return None
    self._poisoned = True
    self.writers.flush()
    kept = self.checkpoint.latest if self.checkpoint else None
    message = (f"loss became {loss} by step {self._step}; stopped without "
               "saving. "
               + (f"The last good checkpoint is {kept}. " if kept else "")
               + "Lower --learning_rate or check the data for NaN/Inf")
    if self.on_nan == "raise":
      raise NonFiniteLossError(message)
    return message

  def _maybe_checkpoint(self, ran: int) -> None:
    if not self.checkpoint_every or not ran:
      return
    if self._step % self.checkpoint_every == 0:
      self.save()

  def _end_epoch(self, epoch, started, validation, hooks, history,
                 progress, ran, logs) -> str | None:
    logs = dict(logs)
    # Epoch-level train scalars too, so short runs (fewer steps than
    # summary_every) still chart, under the same tags eval/ uses.
    epoch_scalars = _without_lr(logs)
    epoch_scalars["learning_rate"] = logs["lr"]
    self.writers.scalars("train", epoch_scalars, self._step)
    if validation is not None:
      val = self.evaluate(validation)
      logs.update({f"val_{k}": v for k, v in val.items()})
      self.writers.scalars("eval", val, self._step)
    self._epoch += 1
    self._step_in_epoch = 0
    history.append(epoch, logs)
    if self.histogram_every is None:
      self.writers.histograms("train", self.model, self._step)
    progress.epoch_end(epoch, self._step, logs, time.monotonic() - started)
    self._maybe_checkpoint(ran)
    self._save_history(history)
    stop = None
    for hook in hooks:
      if hook.on_epoch_end(self, epoch, logs) and stop is None:
        stop = hook.stop_reason
    return stop

  # -- interruption -------------------------------------------------------------

  def _interrupted(self) -> bool:
    return self._interrupt is not None and self._interrupt.requested

  def _stop_interrupted(self, history: History) -> None:
    """Saves the step reached, history and summaries; raises."""
    self._last_dataset = self._repeating = None
    self.save()
    self._save_history(history)
    self.writers.flush()
    raise TrainingInterrupted(self._interrupt.signal, self._step,
                              self._epoch, self._step_in_epoch)

  # -- history ------------------------------------------------------------------

  def _history_path(self) -> str | None:
    return os.path.join(self.model_dir, HISTORY_FILE) if self.model_dir else None

  def _load_history(self) -> History:
    path = self._history_path()
    history = History.load(path) if path else History()
    done = self._epoch
    # Epochs after the restored checkpoint were not kept: drop their logs.
    keep = [i for i, e in enumerate(history.epoch) if e < done]
    history.epoch = [history.epoch[i] for i in keep]
    history.history = {k: [v[i] for i in keep if i < len(v)]
                       for k, v in history.history.items()}
    history.stop_reason = None
    return history

  def _save_history(self, history: History) -> None:
    path = self._history_path()
    if path and distribute.is_chief(self.strategy):
      history.save(path)

  def _say(self, text: str) -> None:
    if self.print_fn:
      self.print_fn(text)


def _silent(_: str) -> None:
  pass


def _without_lr(logs: Mapping[str, float]) -> dict[str, float]:
  return {k: v for k, v in logs.items() if k != "lr"}


def _check_positive(**values: int | None) -> None:
  for name, value in values.items():
    if value is not None and value < 1:
      raise ValueError(f"{name} must be a positive integer, got {value}")
