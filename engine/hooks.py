"""Epoch-end hooks: threshold stop, early stopping, per-epoch learning rate.

A hook sees the trainer at the start of each epoch and the epoch's logs at
its end, and may ask to stop. The NaN/Inf guard is not a hook: the trainer
always checks the loss after every compiled loop call.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping


class Hook:
  """Base class; override what you need."""

  stop_reason: str | None = None

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    """Runs eagerly before the epoch's first step."""

  def on_epoch_end(self, trainer, epoch: int,
                   logs: Mapping[str, float]) -> bool:
    """Runs eagerly after validation; returns True to stop training."""
    return False


def _mode_for(metric: str, mode: str) -> str:
  if mode != "auto":
    return mode
  return "max" if "acc" in metric else "min"


def _check_mode(mode: str) -> None:
  if mode not in ("auto", "min", "max"):
    raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")


class StopAtThreshold(Hook):
  """Stops once a metric reaches a value (the course's 99.8% callback).

  Args:
    metric: a log name, e.g. "accuracy" or "val_mae".
    value: the threshold.
    mode: "max" stops at metric >= value, "min" at metric <= value; "auto"
      picks max for accuracies and min otherwise.
  """

  def __init__(self, metric: str, value: float, mode: str = "auto"):
    _check_mode(mode)
    self.metric, self.value = metric, value
    self.mode = _mode_for(metric, mode)

  def on_epoch_end(self, trainer, epoch, logs):
    if self.metric not in logs:
      raise ValueError(
          f"target metric {self.metric!r} is not logged; logged: "
          f"{', '.join(sorted(logs))}")
    current = logs[self.metric]
    hit = current >= self.value if self.mode == "max" else current <= self.value
    if hit:
      self.stop_reason = (f"reached {self.metric}={current:.4f} "
                          f"({'>=' if self.mode == 'max' else '<='} "
                          f"{self.value}) so cancelling training")
    return hit


class EarlyStopping(Hook):
  """Stops when a monitored metric has not improved for `patience` epochs.

  Args:
    monitor: a log name, usually a validation metric ("val_loss").
    patience: epochs without improvement before stopping.
    min_delta: smallest change that counts as an improvement.
    mode: "min", "max" or "auto" (max for accuracies).
  """

  def __init__(self, monitor: str = "val_loss", patience: int = 5,
               min_delta: float = 0.0, mode: str = "auto"):
    _check_mode(mode)
    if patience < 0:
      raise ValueError(f"patience must be >= 0, got {patience}")
    self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
    self.mode = _mode_for(monitor, mode)
    self.best = -math.inf if self.mode == "max" else math.inf
    self.wait = 0

  def _improved(self, value: float) -> bool:
    if self.mode == "max":
      return value > self.best + self.min_delta
    return value < self.best - self.min_delta

  def on_epoch_end(self, trainer, epoch, logs):
    if self.monitor not in logs:
      raise ValueError(
          f"early stopping monitors {self.monitor!r}, which is not logged; "
          f"logged: {', '.join(sorted(logs))}")
    if self._improved(logs[self.monitor]):
      self.best, self.wait = logs[self.monitor], 0
      return False
    self.wait += 1
    if self.wait > self.patience:
      self.stop_reason = (f"early stopping: {self.monitor} did not improve "
                          f"for {self.patience} epoch(s); best {self.best:.4f}")
      return True
    return False


class LearningRateSchedule(Hook):
  """Sets the optimizer's learning rate at each epoch start: lr = fn(epoch).

  The course's sweep is `LearningRateSchedule(lambda e: 1e-8 * 10**(e/20))`.
  """

  def __init__(self, fn: Callable[[int], float]):
    self.fn = fn

  def on_epoch_begin(self, trainer, epoch):
    trainer.optimizer.set_learning_rate(float(self.fn(epoch)))
