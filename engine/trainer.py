"""The controller: epochs or a step budget, validation, hooks, checkpoints.

    trainer = Trainer(model, "mse", optimizer, ["mae"], model_dir=d)
    history = trainer.fit(data_fn, epochs=10, validation=val_ds)

Orbit's Controller over a Model Garden-style task (engine/task.py, which
computes one step). `fit` runs eagerly and calls the compiled inner loop
(engine/loop.py) for `steps_per_loop` steps at a time. Around each call it
writes scalars, checks the loss for NaN/Inf, prints progress and saves
checkpoints. Step, epoch and step-in-epoch live only in variables (the
checkpointed ones): the loop advances them in the graph and returns them,
with the metrics, from the same graph call (which, at an epoch's start, also
resets the metrics). Validation after the first epoch runs its counted
batches on one iterator over the repeated dataset. Where no eager work is
due between epochs (no hook, checkpoint or histogram; see
`_epochs_per_call`), several whole epochs and their validation run in ONE
graph call (engine/loop.py `make_epochs_fn`), and each epoch's logs are
recorded after it. The same code runs on one device and under any
tf.distribute strategy.

Create the model, optimizer and metrics inside `strategy.scope()`; the
trainer builds the model and the optimizer's slots there too.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from engine import distribute
from engine.checkpoint import RunCheckpoint
from engine.errors import NonFiniteLossError
from engine.history import History
from engine.hooks import Hook
from engine.interrupt import (HANDLED_SIGNALS, GracefulInterrupt,
                              TrainingInterrupted)
from engine.loop import make_epochs_fn, make_loop_fn
from engine.optimizers.loss_scale import DynamicLossScale
from engine.progress import Progress
from engine.summaries import SummaryWriters, trace_graph
from engine.task import Task, dummy_batch, features_of  # noqa: F401 (API)

HISTORY_FILE = "history.json"
# Default weight histograms: every this many epochs and at a fit's last
# epoch (they cost more than a small model's whole epoch).
HISTOGRAM_EPOCHS = 10
# Fewer epochs left than this in a fit, and the multi-epoch function is not
# compiled yet: one epoch per call (compiling it costs about a second on a
# 2-core CPU, more than a few epochs' fixed costs).
MIN_EPOCHS_TO_COMPILE = 5
_INTERRUPTED = "interrupted"
_EVAL_ALL = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Position:
  """Where training stands, as read from the step variables."""
  step: int
  epoch: int
  step_in_epoch: int


@dataclasses.dataclass
class FitRun:
  """What one `fit` call carries from epoch to epoch."""
  data_fn: Callable[[int], tf.data.Dataset]
  epochs: int | None
  train_steps: int | None
  validation: tf.data.Dataset | None
  hooks: list[Hook]
  history: History
  progress: Progress
  steps_per_epoch: int | None
  last_dataset: tf.data.Dataset | None = None
  repeating: Any = None  # one iterator over `last_dataset.repeat()`
  chain: Any = None  # one iterator over `data_fn.epochs_from(...)`
  poisoned: bool = False  # the loss went NaN/Inf: save nothing more

  def finished(self, at: Position) -> bool:
    if self.train_steps is not None:
      return at.step >= self.train_steps
    return at.epoch >= self.epochs


@dataclasses.dataclass(frozen=True)
class LoopResult:
  """One compiled loop call: steps run, where it left off, metric logs."""
  ran: int
  at: Position
  logs: dict[str, float]
  examples: int  # examples seen so far this epoch


class Trainer:
  """Trains, evaluates and predicts with one model under one strategy.

  Args:
    model, loss, optimizer, metrics: what the task (engine.task.Task)
      computes each step with.
    strategy: a tf.distribute strategy (default: the current one).
    model_dir: checkpoints, `train/` and `eval/` logs; None keeps nothing.
    steps_per_loop: training steps per compiled loop call.
    checkpoint_every: save every N steps (None: at the end only).
    summary_every: scalar summaries every N steps.
    histogram_every: weight histograms every N steps (None: at the end of
      every HISTOGRAM_EPOCHS-th epoch and of the fit's last epoch).
    max_to_keep: checkpoints kept.
    progress_interval: seconds between mid-epoch progress lines.
    print_fn: where progress lines go; None silences them.
    on_nan: "raise" (NonFiniteLossError) or "stop" (end fit quietly, as a
      learning-rate sweep wants); either way nothing is saved after it.
    jit_compile: compile each replica step with XLA (see Task).
    loss_scale: a DynamicLossScale for mixed_float16 (see Task); it is
      saved in the checkpoint.
  """

  def __init__(self, model, loss, optimizer, metrics: Sequence = (), *,
               strategy: tf.distribute.Strategy | None = None,
               model_dir: str | None = None, steps_per_loop: int = 100,
               checkpoint_every: int | None = None, summary_every: int = 100,
               histogram_every: int | None = None, max_to_keep: int = 5,
               progress_interval: float = 10.0,
               print_fn: Callable[[str], None] | None = print,
               on_nan: str = "raise", jit_compile: bool = False,
               loss_scale: DynamicLossScale | None = None,
               seed: int = 0):
    _check_positive(steps_per_loop=steps_per_loop, summary_every=summary_every,
                    checkpoint_every=checkpoint_every,
                    histogram_every=histogram_every, max_to_keep=max_to_keep)
    if on_nan not in ("raise", "stop"):
      raise ValueError(f"on_nan must be 'raise' or 'stop', got {on_nan!r}")
    self.on_nan = on_nan
    self.strategy = strategy or tf.distribute.get_strategy()
    self.task = Task(model, loss, optimizer, metrics, strategy=self.strategy,
                     jit_compile=jit_compile, loss_scale=loss_scale,
                     seed=seed)
    self.model_dir = model_dir
    self.steps_per_loop = steps_per_loop
    self.checkpoint_every = checkpoint_every
    self.summary_every = summary_every
    self.histogram_every = histogram_every
    self.progress_interval = progress_interval
    self.print_fn = print_fn
    with self.strategy.scope():
      self.global_step = _counter("global_step")
      self.epoch = _counter("epoch")
      self.step_in_epoch = _counter("step_in_epoch")
    # Only the chief logs; other workers would duplicate every event.
    self.writers = SummaryWriters(
        model_dir if distribute.is_chief(self.strategy) else None)
    self._checkpoint: RunCheckpoint | None = None
    self._max_to_keep = max_to_keep
    # Reset (at an epoch's start) and read fold into the loop's graph call.
    self._train_loop = make_loop_fn(self._train_step, self.task.reset_metrics,
                                    self._read_tensors)
    self._eval_loop = make_loop_fn(self.task.eval_step, self.task.reset_metrics,
                                   self.task.metric_tensors)
    # Several whole epochs (and their validation) per graph call, when no
    # eager work is due between them (see `_epochs_per_call`).
    self._epochs_loop = make_epochs_fn(
        self._train_step, self.task.eval_step, self.task.reset_metrics,
        self._read_tensors, self.task.metric_tensors, self._next_epoch)
    self._predict_fn = tf.function(self.task.predict_step, autograph=False,
                                   reduce_retracing=True)
    self._graph_written = False
    self._built = False  # model and optimizer variables exist
    self._chain_left = None  # (data_fn, steps_per_epoch, position, iterator)
    self._epoch_seconds: float | None = None  # the last epoch's wall time
    self._validation_kept = None  # (dataset, batches per pass, iterator)
    self._interrupt: GracefulInterrupt | None = None
    self._stop_signal: int | None = None  # agreed on by every worker
    self.task.step_variable = self.global_step

  # -- the task's parts, under their old names ------------------------------

  model = property(lambda self: self.task.model)
  optimizer = property(lambda self: self.task.optimizer)
  metrics = property(lambda self: self.task.metrics)
  loss_metric = property(lambda self: self.task.loss_metric)
  loss_fn = property(lambda self: self.task.loss_fn)
  loss_name = property(lambda self: self.task.loss_name)
  jit_compile = property(lambda self: self.task.jit_compile)
  loss_scale = property(lambda self: self.task.loss_scale)

  # -- building, restoring, saving -------------------------------------------

  def build(self, element_spec) -> None:
    """Creates model and optimizer variables from one batch's spec."""
    self.task.build(element_spec)
    self._built = True

  @property
  def checkpoint(self) -> RunCheckpoint | None:
    """The run's checkpoint (None without a model_dir)."""
    if self._checkpoint is None and self.model_dir:
      self._checkpoint = RunCheckpoint(
          self.model_dir, max_to_keep=self._max_to_keep,
          is_chief=distribute.is_chief(self.strategy),
          worker_id=distribute.worker_id(self.strategy), model=self.model,
          optimizer=self.optimizer, global_step=self.global_step,
          epoch=self.epoch, step_in_epoch=self.step_in_epoch,
          **({"loss_scale": self.loss_scale} if self.loss_scale else {}))
    return self._checkpoint

  def restore(self) -> str | None:
    """Restores the newest checkpoint of model_dir, if any; returns it."""
    if self.checkpoint is None:
      return None
    with self.strategy.scope():
      return self.checkpoint.restore_latest()

  def position(self) -> Position:
    """Step, epoch and step in epoch, read from their variables."""
    return Position(int(self.global_step.numpy()), int(self.epoch.numpy()),
                    int(self.step_in_epoch.numpy()))

  @property
  def epochs_done(self) -> int:
    """Epochs finished so far (including those before a resume)."""
    return int(self.epoch.numpy())

  @property
  def steps_done(self) -> int:
    """Training steps taken so far (the global step)."""
    return int(self.global_step.numpy())

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
    return self.checkpoint.save(int(self.global_step.numpy()))

  # -- graph functions ---------------------------------------------------------

  def _train_step(self, element) -> None:
    """The task's step, then the counters and the per-step loss summary."""
    loss = self.task.train_step(element)
    self.global_step.assign_add(1)
    self.step_in_epoch.assign_add(1)
    # Written only at steps the caller's record_if predicate selects; the
    # empty name scope drops the while loop's "while/cond/" prefix.
    with tf.name_scope(""):
      tf.summary.scalar("step_loss", loss)

  def _next_epoch(self) -> None:
    """The counters at an epoch's end (after its validation)."""
    self.epoch.assign_add(1)
    self.step_in_epoch.assign(0)

  def _read_tensors(self) -> dict[str, tf.Tensor]:
    """Metrics, lr, examples seen and the position (the loop returns them)."""
    tensors = self.task.result_tensors()
    tensors["global_step"] = tf.identity(self.global_step)
    tensors["epoch"] = tf.identity(self.epoch)
    tensors["step_in_epoch"] = tf.identity(self.step_in_epoch)
    return tensors

  def _read(self, tensors: Mapping[str, tf.Tensor]
            ) -> tuple[Position, int, dict[str, float]]:
    """(position, examples seen, metric logs incl. `lr`) from the values of
    `_read_tensors` the loop call returned."""
    return _logs_of({k: v.numpy() for k, v in tensors.items()})

  def _read_epochs(self, train: Mapping[str, tf.Tensor],
                   val: Mapping[str, tf.Tensor], epochs_run: int
                   ) -> list[tuple[Position, int, dict[str, float],
                                   dict[str, float] | None]]:
    """Per epoch of a multi-epoch call: `_read`'s triple plus the
    validation logs (None for an epoch whose validation did not run)."""
    train = {k: v.numpy() for k, v in train.items()}
    val = {k: v.numpy() for k, v in val.items()}
    epochs = []
    for i in range(epochs_run):
      at, examples, logs = _logs_of({k: v[i] for k, v in train.items()})
      ran_validation = all(len(v) > i for v in val.values())
      epochs.append((at, examples, logs, {k: float(v[i]) for k, v in
                                          val.items()}
                     if ran_validation else None))
    return epochs

  # -- public API ---------------------------------------------------------------

  def evaluate(self, dataset: tf.data.Dataset) -> dict[str, float]:
    """Loss and metrics over the whole dataset (example-weighted)."""
    return self._evaluate_batches(dataset)[1]

  def _evaluate_batches(self, dataset: tf.data.Dataset
                        ) -> tuple[int, dict[str, float]]:
    """(batches in the dataset, metric logs) of one whole pass."""
    self.task.ensure_built(dataset.element_spec)
    iterator = iter(distribute.distribute(self.strategy, dataset))
    ran, tensors = self._eval_loop(iterator, tf.constant(_EVAL_ALL),
                                   tf.constant(True))
    return int(ran), {k: float(v.numpy()) for k, v in tensors.items()}

  def _validate(self, run: FitRun) -> dict[str, float]:
    """Evaluates `run.validation`, after the first pass on ONE iterator.

    The first pass counts the batches; later passes (in later fits too,
    for the same dataset object) run exactly that many on an iterator over
    the repeated dataset, which saves creating (and tearing down) an
    iterator per epoch.
    """
    kept = self._validation_kept
    if kept is None or kept[0] is not run.validation:
      batches, logs = self._evaluate_batches(run.validation)
      self._validation_kept = (run.validation, batches, iter(
          distribute.distribute(self.strategy, run.validation.repeat())))
      return logs
    _, batches, iterator = kept
    _, tensors = self._eval_loop(iterator, tf.constant(batches, tf.int32),
                                 tf.constant(True))
    return {k: float(v.numpy()) for k, v in tensors.items()}

  def predict(self, dataset: tf.data.Dataset) -> np.ndarray:
    """Model outputs for every element, in order, as one array."""
    self.task.ensure_built(dataset.element_spec)
    outputs = []
    for element in distribute.distribute(self.strategy, dataset):
      result = self._predict_fn(features_of(element))
      outputs.extend(t.numpy() for t in
                     distribute.local_values(self.strategy, result))
    return np.concatenate(outputs, axis=0)

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
        data) lets the loop keep one repeating iterator across epochs. A
        data_fn with an `epochs_from(epoch)` method (data.bundle.EpochData:
        the epochs chained into one dataset), given with steps_per_epoch
        (which must then be exact), is iterated with ONE iterator per fit.
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
    if not self._built:
      # Once only: building runs the model eagerly on a dummy batch (tens
      # of ms for a recurrent model) and a plain data_fn builds a dataset
      # for its spec, costs a fit of a few epochs would pay every call.
      spec = getattr(data_fn, "element_spec", None)  # EpochData caches it
      self.build(data_fn(0).element_spec if spec is None else spec)
    self._restore_keeping_learning_rate()
    at = self.position()
    total = train_steps or (epochs * steps_per_epoch if steps_per_epoch
                            else None)
    progress = Progress(total, None if train_steps else epochs,
                        self.progress_interval, self.print_fn or _silent)
    progress.start(at.step)
    run = FitRun(data_fn, epochs, train_steps, validation, list(hooks),
                 self._load_history(at.epoch), progress, steps_per_epoch)
    run.chain = self._chain_left_at(run, at)
    self._interrupt = interrupt
    self._stop_signal = None
    while not run.finished(at):
      at, stop = self._run_epoch(run, at)
      if stop == _INTERRUPTED or (self._interrupted() and not stop):
        self._stop_interrupted(run, at)
      if stop:
        run.history.stop_reason = stop
        self._say(stop)
        break
    if not run.poisoned:
      self.save()
      self._save_history(run.history)
    self._chain_left = (None if run.poisoned or run.chain is None else
                        (data_fn, steps_per_epoch, at, run.chain))
    self.writers.flush()
    return run.history

  def _chain_left_at(self, run: FitRun, at: Position):
    """The previous fit's chained-epochs iterator, if this fit goes on from
    exactly where it stopped (same data_fn, same position): a fit of a few
    epochs at a time (a benchmark, a notebook) need not rebuild it."""
    left, self._chain_left = self._chain_left, None
    if left is None:
      return None
    data_fn, steps_per_epoch, stopped_at, chain = left
    same = (data_fn is run.data_fn and steps_per_epoch == run.steps_per_epoch
            and stopped_at == at)
    return chain if same else None

  # -- the epoch ----------------------------------------------------------------

  def _epoch_iterator(self, run: FitRun, at: Position):
    """An iterator over the epoch's data, positioned after the batches done."""
    skip = at.step_in_epoch
    epochs_from = getattr(run.data_fn, "epochs_from", None)
    if epochs_from is not None and run.steps_per_epoch:
      # Chained epochs (data.bundle.EpochData): one iterator for the run,
      # each epoch taking steps_per_epoch batches of it.
      if run.chain is None:
        dataset = epochs_from(at.epoch)
        run.chain = iter(distribute.distribute(
            self.strategy, dataset.skip(skip) if skip else dataset))
      return run.chain
    dataset = run.data_fn(at.epoch)
    same = dataset is run.last_dataset and not skip
    run.last_dataset = dataset
    if same and run.steps_per_epoch:
      # Identical data every epoch: one repeating iterator saves the cost of
      # creating and tearing down an iterator per epoch.
      if run.repeating is None:
        run.repeating = iter(
            distribute.distribute(self.strategy, dataset.repeat()))
      return run.repeating
    run.repeating = None
    if skip:
      dataset = dataset.skip(skip)
    return iter(distribute.distribute(self.strategy, dataset))

  def _run_epoch(self, run: FitRun, at: Position
                 ) -> tuple[Position, str | None]:
    """Trains to the epoch's end (or the budget); returns (position, stop).

    Several epochs in one graph call instead when no eager work is due
    between them (`_epochs_per_call`).
    """
    epochs = self._epochs_per_call(run, at)
    if epochs > 1:
      return self._run_epochs(run, at, epochs)
    start = at
    for hook in run.hooks:  # also when resuming mid-epoch: the lr of this epoch
      hook.on_epoch_begin(self, start.epoch)
    started = time.monotonic()
    iterator = self._epoch_iterator(run, start)
    result = first = LoopResult(0, start, {}, 0)
    while True:
      num_steps = self._next_chunk(run, result.at)
      result = self._run_loop(iterator, num_steps, result,
                              begin=result is first)
      run.progress.warmed_up(result.at.step)
      problem = self._non_finite_loss(run, result)
      if problem:
        return result.at, problem
      epoch_done = result.ran < num_steps or (
          run.steps_per_epoch is not None and
          result.at.step_in_epoch >= run.steps_per_epoch)
      budget_done = (run.train_steps is not None and
                     result.at.step >= run.train_steps)
      if epoch_done or budget_done:
        break
      self._maybe_checkpoint(result)
      if self._interrupted():
        return result.at, _INTERRUPTED
      run.progress.maybe_mid_epoch(start.epoch, result.at.step,
                                   _without_lr(result.logs))
    if result.ran < num_steps:
      run.chain = None  # ran out: rebuild from the next epoch
    if not epoch_done:
      # The step budget ended mid-epoch: keep the data position.
      self._maybe_checkpoint(result)
      return result.at, None
    if run.steps_per_epoch is None and start.step_in_epoch == 0:
      # Learnt once, so later epochs end without an empty loop call.
      run.steps_per_epoch = result.at.step_in_epoch
    after = self._end_epoch(run, result, time.monotonic() - started)
    self._epoch_seconds = time.monotonic() - started
    return after

  # -- several epochs per graph call --------------------------------------------

  def _epochs_per_call(self, run: FitRun, at: Position) -> int:
    """How many whole epochs from `at` one graph call may run.

    More than one only where nothing eager must happen between them: the
    run starts at an epoch's start, its epochs fit one loop call each
    (steps_per_epoch <= steps_per_loop, known and exact), the data needs no
    new iterator (chained or identical epochs), the run is not on a cluster
    (where every worker must make the same calls), validation repeats a
    counted pass, no hook is given (a hook may change the learning rate
    or stop after any epoch), and an epoch's time is known (from the epoch
    before, in this fit or an earlier one). Short fits stay at one epoch
    per call until the function is compiled (MIN_EPOCHS_TO_COMPILE). The call then ends at the first epoch at
    whose end a checkpoint, a weight histogram or the run's end is due
    (`_due_at_end`), or once it would take `progress_interval` seconds (so
    progress lines and a signal are never held back longer).
    """
    per_epoch = run.steps_per_epoch
    if (not per_epoch or at.step_in_epoch or per_epoch > self.steps_per_loop
        or distribute.worker_id(self.strategy) is not None  # timing differs
        or run.hooks or self._epoch_seconds is None or self._interrupted()
        or not self._validation_counted(run)
        or not self._same_iterator_serves(run, at.epoch)):
      return 1
    if run.train_steps is not None:
      limit = (run.train_steps - at.step) // per_epoch
    else:
      limit = run.epochs - at.epoch
    if (limit < MIN_EPOCHS_TO_COMPILE and
        not self._epochs_loop.experimental_get_tracing_count()):
      return 1
    limit = min(limit, int(self.progress_interval /
                           max(self._epoch_seconds, 1e-6)))
    for k in range(1, limit + 1):
      before = at.step + (k - 1) * per_epoch
      if self._checkpoint_inside(before, before + per_epoch):
        return max(k - 1, 1)  # the one-epoch path saves mid-epoch
      if k == limit or self._due_at_end(
          before, before + per_epoch, at.epoch + k):
        return k
      if not self._same_iterator_serves(run, at.epoch + k):
        return k
    return 1

  def _checkpoint_inside(self, before: int, end: int) -> bool:
    """Whether a checkpoint falls strictly between steps before and end."""
    every = self.checkpoint_every
    return (self.checkpoint is not None and bool(every)
            and (end - 1) // every != before // every)

  def _due_at_end(self, before: int, end: int, epochs_done: int) -> bool:
    """Whether eager work that reads the live model is due at the end of
    the epoch from step `before` to `end` (after which `epochs_done` epochs
    are done): a checkpoint or weight histograms. Hooks make every epoch
    due (`_epochs_per_call`). Not due: per-epoch scalars, history and
    progress lines, which need only the epoch's logs and are written after
    the call."""
    every = self.checkpoint_every
    if self.checkpoint is not None and every and end % every == 0:
      return True
    if not self.writers.enabled:
      return False
    if self.histogram_every is not None:
      return before // self.histogram_every != end // self.histogram_every
    return epochs_done % HISTOGRAM_EPOCHS == 0

  def _validation_counted(self, run: FitRun) -> bool:
    kept = self._validation_kept
    return run.validation is None or (
        kept is not None and kept[0] is run.validation)

  def _same_iterator_serves(self, run: FitRun, epoch: int) -> bool:
    """Whether epoch `epoch`'s batches come from the iterator the epoch
    before used: chained epochs, or the very same dataset again."""
    if getattr(run.data_fn, "epochs_from", None) is not None:
      return run.chain is not None
    return run.repeating is not None and run.data_fn(epoch) is run.last_dataset

  def _run_epochs(self, run: FitRun, at: Position, epochs: int
                  ) -> tuple[Position, str | None]:
    """`epochs` whole epochs with their validation in ONE graph call, then
    each epoch's eager end work as `_end_epoch` does it."""
    iterator = self._epoch_iterator(run, at)
    val_args = ()
    if run.validation is not None:
      _, batches, val_iterator = self._validation_kept
      val_args = (val_iterator, tf.constant(batches, tf.int32))
    started = time.monotonic()
    with self.writers.writer("train").as_default(step=self.global_step):
      with tf.summary.record_if(self._record_predicate):
        ran, train, val = self._epochs_loop(
            iterator, tf.constant(epochs, tf.int32),
            tf.constant(run.steps_per_epoch, tf.int32), *val_args)
    per_epoch_list = self._read_epochs(train, val, int(ran))
    seconds = max(time.monotonic() - started, 1e-9) / max(int(ran), 1)
    self._epoch_seconds = seconds
    previous = LoopResult(0, at, {}, 0)
    for i, (end, examples, logs, val_logs) in enumerate(per_epoch_list):
      result = LoopResult(end.step - previous.at.step, end, logs, examples)
      _check_advanced(previous.at, result)
      self._write_train_scalars(previous, result, seconds)
      run.progress.warmed_up(end.step)
      problem = self._non_finite_loss(run, result)
      if problem:
        self._save_history(run.history)
        return end, problem
      after, stop = self._end_epoch(
          run, result, seconds, graph_val=val_logs,
          save_history=i == len(per_epoch_list) - 1)
      previous = LoopResult(0, after, {}, 0)
    return after, stop

  def _next_chunk(self, run: FitRun, at: Position) -> int:
    n = self.steps_per_loop
    if self.checkpoint_every:
      n = min(n, self.checkpoint_every - at.step % self.checkpoint_every)
    if run.train_steps is not None:
      n = min(n, run.train_steps - at.step)
    if run.steps_per_epoch is not None:
      n = min(n, max(run.steps_per_epoch - at.step_in_epoch, 1))
    return max(n, 1)

  def _run_loop(self, iterator, num_steps: int, previous: LoopResult, *,
                begin: bool = False) -> LoopResult:
    """One compiled loop call that also reads metrics and position (and,
    with `begin`, first resets the metrics: an epoch's first call)."""
    started = time.monotonic()
    with self.writers.writer("train").as_default(step=self.global_step):
      with tf.summary.record_if(self._record_predicate):
        args = (iterator, tf.constant(num_steps, tf.int32),
                tf.constant(begin))
        if not self._graph_written:
          ran, tensors = trace_graph(self.writers, "train", self._train_loop,
                                     *args)
          self._graph_written = True
        else:
          ran, tensors = self._train_loop(*args)
    at, examples, logs = self._read(tensors)
    seconds = max(time.monotonic() - started, 1e-9)
    result = LoopResult(int(ran), at, logs, examples)
    _check_advanced(previous.at, result)
    if result.ran:
      self._write_train_scalars(previous, result, seconds)
    return result

  def _record_predicate(self):
    return tf.equal(self.global_step % self.summary_every, 0)

  def _write_train_scalars(self, previous: LoopResult, result: LoopResult,
                           seconds: float) -> None:
    before, step = previous.at.step, result.at.step
    if before // self.summary_every == step // self.summary_every:
      return
    values = _without_lr(result.logs)
    values.update({"learning_rate": result.logs["lr"],
                   "steps_per_sec": result.ran / seconds,
                   "examples_per_sec": (result.examples - previous.examples)
                                       / seconds})
    self.writers.scalars("train", values, step)
    if self.histogram_every and (
        before // self.histogram_every != step // self.histogram_every):
      self.writers.histograms("train", self.model, step)

  def _non_finite_loss(self, run: FitRun, result: LoopResult) -> str | None:
    """None while the loss is finite; else stops (see `on_nan`)."""
    loss = result.logs["loss"]
    if np.isfinite(loss):
      return None
    run.poisoned = True
    self.writers.flush()
    kept = self.checkpoint.latest if self.checkpoint else None
    message = (f"loss became {loss} by step {result.at.step}; stopped "
               "without saving. "
               + (f"The last good checkpoint is {kept}. " if kept else "")
               + "Lower --learning_rate or check the data for NaN/Inf")
    if self.on_nan == "raise":
      raise NonFiniteLossError(message)
    return message

  def _maybe_checkpoint(self, result: LoopResult) -> None:
    if not self.checkpoint_every or not result.ran:
      return
    if result.at.step % self.checkpoint_every == 0:
      self.save()

  def _end_epoch(self, run: FitRun, result: LoopResult, seconds: float,
                 graph_val: dict[str, float] | None = None,
                 save_history: bool = True) -> tuple[Position, str | None]:
    """The epoch-end work: scalars, validation, history, progress line,
    checkpoint, hooks, histograms.

    `graph_val`: a multi-epoch call already validated (these logs) and
    advanced the epoch counters in the graph.
    """
    epoch, step = result.at.epoch, result.at.step
    logs = dict(result.logs)
    # Epoch-level train scalars too, so short runs (fewer steps than
    # summary_every) still chart, under the same tags eval/ uses.
    epoch_scalars = _without_lr(logs)
    epoch_scalars["learning_rate"] = logs["lr"]
    self.writers.scalars("train", epoch_scalars, step)
    if run.validation is not None:
      val = self._validate(run) if graph_val is None else graph_val
      logs.update({f"val_{k}": v for k, v in val.items()})
      self.writers.scalars("eval", val, step)
    if graph_val is None:
      self._next_epoch()
    run.history.append(epoch, logs)
    run.progress.epoch_end(epoch, step, logs, seconds)
    self._maybe_checkpoint(result)
    if save_history:
      self._save_history(run.history)
    stop = None
    for hook in run.hooks:
      if hook.on_epoch_end(self, epoch, logs) and stop is None:
        stop = hook.stop_reason
    after = Position(step, epoch + 1, 0)
    if self.histogram_every is None and (
        (epoch + 1) % HISTOGRAM_EPOCHS == 0 or stop or run.finished(after)):
      self.writers.histograms("train", self.model, step)
    return after, stop

  # -- history ------------------------------------------------------------------

  def _interrupted(self) -> bool:
    """True once a signal arrived, here or (on a cluster) at any worker.

    On a cluster every worker asks at the same points (loop-call and epoch
    boundaries), so all stop at the same step and save together.
    """
    if self._interrupt is None:
      return False
    if self._stop_signal is None:
      if distribute.worker_id(self.strategy) is None:
        self._stop_signal = self._interrupt.signal
      else:
        self._stop_signal = distribute.cluster_signal(
            self.strategy, self._interrupt.signal, HANDLED_SIGNALS)
    return self._stop_signal is not None

  def _stop_interrupted(self, run: FitRun, at: Position) -> None:
    """Saves the step reached, history and summaries; raises."""
    run.last_dataset = run.repeating = None
    self.save()
    self._save_history(run.history)
    self.writers.flush()
    raise TrainingInterrupted(self._stop_signal, at.step, at.epoch,
                              at.step_in_epoch,
                              elsewhere=self._interrupt.signal is None)

  def _history_path(self) -> str | None:
    return os.path.join(self.model_dir, HISTORY_FILE) if self.model_dir else None

  def _load_history(self, epochs_done: int) -> History:
    path = self._history_path()
    history = History.load(path) if path else History()
    # Epochs after the restored checkpoint were not kept: drop their logs.
    keep = [i for i, e in enumerate(history.epoch) if e < epochs_done]
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


def _counter(name: str) -> tf.Variable:
  """An int64 counter advanced once per step on the first replica only."""
  return tf.Variable(0, dtype=tf.int64, trainable=False, name=name,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _check_advanced(before: Position, result: LoopResult) -> None:
  """Warns when the step variable did not advance by the steps the loop ran."""
  advanced = result.at.step - before.step
  if advanced != result.ran:
    logging.warning("global step advanced by %d over a loop that ran %d "
                    "steps", advanced, result.ran)


def _logs_of(values: dict) -> tuple[Position, int, dict[str, float]]:
  """(position, examples seen, metric logs) from `_read_tensors` values."""
  at = Position(int(values.pop("global_step")), int(values.pop("epoch")),
                int(values.pop("step_in_epoch")))
  examples = int(values.pop("examples_seen"))
  return at, examples, {k: float(v) for k, v in values.items()}


def _silent(_: str) -> None:
  pass


def _without_lr(logs: Mapping[str, float]) -> dict[str, float]:
  return {k: v for k, v in logs.items() if k != "lr"}


def _check_positive(**values: int | None) -> None:
  for name, value in values.items():
    if value is not None and value < 1:
      raise ValueError(f"{name} must be a positive integer, got {value}")
