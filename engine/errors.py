"""Errors the engine raises for a user's mistake (not for a bug)."""


class EngineUserError(ValueError):
  """A user-facing problem: the message names what was wrong and the fix."""


class CheckpointMismatchError(EngineUserError):
  """A checkpoint in model_dir does not fit the model being restored."""


class NonFiniteLossError(EngineUserError):
  """Training produced NaN or Inf; the last good checkpoint is kept."""
