"""Progress lines with ETA, like Keras's verbose=2 but with an ETA."""

from __future__ import annotations

import sys
import time
from typing import Callable, Mapping


def format_duration(seconds: float) -> str:
  """3725 -> '1h02m05s', 65 -> '1m05s', 4.2 -> '4.2s'."""
  if seconds < 60:
    return f"{seconds:.1f}s"
  minutes, secs = divmod(int(round(seconds)), 60)
  if minutes < 60:
    return f"{minutes}m{secs:02d}s"
  hours, minutes = divmod(minutes, 60)
  return f"{hours}h{minutes:02d}m{secs:02d}s"


def format_logs(logs: Mapping[str, float]) -> str:
  """'loss 0.1234 - mae 0.5678' in insertion order."""
  return " - ".join(f"{k} {v:.4g}" for k, v in logs.items())


class Progress:
  """Prints one line per epoch, and mid-epoch lines on long epochs.

  Args:
    total_steps: the run's total step budget when known (for the ETA).
    epochs: the number of epochs when known.
    interval: seconds between mid-epoch lines.
    print_fn: where lines go (stdout by default).
  """

  def __init__(self, total_steps: int | None, epochs: int | None,
               interval: float = 10.0,
               print_fn: Callable[[str], None] | None = None):
    self.total_steps, self.epochs, self.interval = total_steps, epochs, interval
    self._print = print_fn or (lambda s: print(s, file=sys.stdout,
                                               flush=True))
    self._start_time = time.monotonic()
    self._start_step: int | None = None
    self._warm: tuple[float, int] | None = None
    self._last_line = self._start_time

  def start(self, step: int) -> None:
    """Marks the step the run (or resumed run) starts from."""
    self._start_step = step
    self._start_time = self._last_line = time.monotonic()
    self._warm = None

  def warmed_up(self, step: int) -> None:
    """Marks the end of the first loop call (tracing, compiling).

    Only the first call counts. The ETA then uses the step time measured
    after it, so the first line after a (re)start is not inflated by the
    one-off compilation of a short remainder.
    """
    if self._warm is None:
      self._warm = (time.monotonic(), step)

  def eta(self, step: int) -> float | None:
    """Seconds left, from the mean step time so far; None if unknown."""
    if self.total_steps is None or self._start_step is None:
      return None
    since_time, since_step = self._start_time, self._start_step
    if self._warm is not None and step > self._warm[1]:
      since_time, since_step = self._warm
    done = step - since_step
    if done <= 0:
      return None
    per_step = (time.monotonic() - since_time) / done
    return max(self.total_steps - step, 0) * per_step

  def _eta_text(self, step: int) -> str:
    eta = self.eta(step)
    return "" if eta is None else f" - ETA {format_duration(eta)}"

  def _epoch_text(self, epoch: int) -> str:
    total = f"/{self.epochs}" if self.epochs else ""
    return f"epoch {epoch + 1}{total}"

  def _step_text(self, step: int) -> str:
    total = f"/{self.total_steps}" if self.total_steps else ""
    return f"step {step}{total}"

  def maybe_mid_epoch(self, epoch: int, step: int,
                      logs: Mapping[str, float]) -> None:
    """Prints a line if `interval` seconds passed since the last one."""
    now = time.monotonic()
    if now - self._last_line < self.interval:
      return
    self._last_line = now
    self._print(f"  {self._epoch_text(epoch)} {self._step_text(step)} - "
                f"{format_logs(logs)}{self._eta_text(step)}")

  def epoch_end(self, epoch: int, step: int, logs: Mapping[str, float],
                seconds: float) -> None:
    """Prints the epoch's line."""
    self._last_line = time.monotonic()
    self._print(f"{self._epoch_text(epoch)} {self._step_text(step)} - "
                f"{format_logs(logs)} - {format_duration(seconds)}"
                f"{self._eta_text(step)}")
