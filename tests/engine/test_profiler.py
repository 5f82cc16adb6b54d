"""ProfileSteps: which epochs the profiler trace covers."""

from __future__ import annotations

import types

import pytest
import tensorflow as tf

from engine.profiler import ProfileSteps


@pytest.fixture
def calls(monkeypatch):
  recorded = []
  monkeypatch.setattr(tf.profiler.experimental, "start",
                      lambda logdir: recorded.append(("start", logdir)))
  monkeypatch.setattr(tf.profiler.experimental, "stop",
                      lambda: recorded.append(("stop",)))
  return recorded


def run_epochs(hook, steps_per_epoch, epochs):
  """Drives the hook like fit does; returns the steps_done at each call."""
  trainer = types.SimpleNamespace(steps_done=0)
  seen = []
  for epoch in range(epochs):
    hook.on_epoch_begin(trainer, epoch)
    seen.append(("begin", trainer.steps_done, hook.active))
    trainer.steps_done += steps_per_epoch
    hook.on_epoch_end(trainer, epoch, {})
  hook.close()
  return seen


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_traces_the_epochs_covering_start_to_stop(calls, known):
  hook = ProfileSteps("/logs/train", start=15, stop=25,
                      steps_per_epoch=10 if known else None)
  seen = run_epochs(hook, 10, 5)
  active = [step for _, step, on in seen if on]
  # Known size: the epoch holding step 15 (steps 10-19) starts the trace;
  # unknown: the first epoch beginning at or after 15 (step 20).
  assert active == ([10, 20] if known else [20])
  assert calls == [("start", "/logs/train"), ("stop",)]


def test_range_is_checked():
  with pytest.raises(ValueError, match="start < stop"):
    ProfileSteps("/logs", start=5, stop=5)
