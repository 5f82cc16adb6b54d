"""The ETA ignores the first loop call's one-off tracing time."""

from __future__ import annotations

import pytest

from engine import progress as progress_lib


class Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


@pytest.fixture
def clock(monkeypatch):
  fake = Clock()
  monkeypatch.setattr(progress_lib.time, "monotonic", fake)
  return fake


def test_eta_after_resume_uses_step_time_after_the_first_call(clock):
  progress = progress_lib.Progress(1000, None, print_fn=lambda _: None)
  progress.start(500)          # resumed at step 500
  clock.now = 30.0             # first call: 10 steps, 30 s of tracing
  progress.warmed_up(510)
  clock.now = 31.0             # then 100 steps in 1 s
  assert progress.eta(610) == pytest.approx(390 * 0.01)


def test_eta_falls_back_to_the_whole_time_before_a_second_call(clock):
  progress = progress_lib.Progress(100, None, print_fn=lambda _: None)
  progress.start(0)
  clock.now = 10.0
  progress.warmed_up(10)
  assert progress.eta(10) == pytest.approx(90.0)
  progress.warmed_up(20)       # only the first call counts
  clock.now = 11.0
  assert progress.eta(20) == pytest.approx(80 * 0.1)
