"""Graceful stop on SIGINT (Ctrl-C) and SIGTERM (schedulers, docker stop).

    with GracefulInterrupt() as interrupt:
      trainer.fit(data_fn, epochs=10, interrupt=interrupt)

Inside the block the first SIGINT or SIGTERM only records the signal; the
training loop polls `interrupt.signal` after each compiled loop call (so
the latency is at most one loop call: lower `steps_per_loop` to bound it),
saves a checkpoint at the step reached and raises `TrainingInterrupted`.
A second signal exits at once (status 128 + signal number), without
saving. Outside the main thread the handlers cannot be installed, and the
block does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
  """The shell's status for a process ended by `signum` (130, 143)."""
  return 128 + int(signum)


class TrainingInterrupted(Exception):
  """Training stopped at a loop boundary because a signal arrived.

  The checkpoint of the step reached has been saved. Not a user error and
  not a bug: binaries print `message` as one line and exit `exit_status`.

  Attributes:
    signum: the signal received (by another worker if `elsewhere`).
    step: the global step saved.
    epoch: the 0-based epoch the next step belongs to.
    step_in_epoch: steps of that epoch already taken.
  """

  def __init__(self, signum: int, step: int, epoch: int,
               step_in_epoch: int = 0, elsewhere: bool = False):
    self.signum, self.step, self.epoch = int(signum), step, epoch
    self.signal_name = signal.Signals(signum).name
    self.exit_status = exit_status(signum)
    where = (f"epoch {epoch + 1}, {step_in_epoch} step(s) into it"
             if step_in_epoch else f"start of epoch {epoch + 1}")
    by = self.signal_name + (" on another worker" if elsewhere else "")
    super().__init__(f"stopped by {by} at step {step} ({where})")


class GracefulInterrupt:
  """Records SIGINT/SIGTERM instead of dying; a second one exits at once.

  Args:
    signals: the signals to handle.
    on_second: called with the signal number on a second signal; the
      default prints one line and ends the process with `os._exit`.
  """

  def __init__(self, signals=HANDLED_SIGNALS,
               on_second: Callable[[int], None] | None = None):
    self._signals = tuple(signals)
    self._on_second = on_second or _exit_now
    self._previous: dict[int, object] = {}
    self.signal: int | None = None

  def __enter__(self) -> "GracefulInterrupt":
    if threading.current_thread() is threading.main_thread():
      for signum in self._signals:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc_info) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous.clear()

  def _handle(self, signum, frame) -> None:  # pylint: disable=unused-argument
    if self.signal is not None:
      self._on_second(signum)
      return
    self.signal = signum

  @property
  def requested(self) -> bool:
    """True once a signal arrived."""
    return self.signal is not None


def _exit_now(signum: int) -> None:
  name = signal.Signals(signum).name
  print(f"second {name}: exiting at once without saving", file=sys.stderr,
        flush=True)
  os._exit(exit_status(signum))  # pylint: disable=protected-access
