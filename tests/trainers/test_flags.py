"""The shared flags take their choices from the engine."""

from __future__ import annotations

from engine import optimizers


def test_every_optimizer_choice_builds_an_engine_optimizer():
  for name in optimizers.names():
    assert optimizers.get(name, learning_rate=0.1) is not None
  assert set(optimizers.names()) == set(optimizers._OPTIMIZERS)
