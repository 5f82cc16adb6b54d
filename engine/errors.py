"""Errors the engine raises for a user's mistake (not for a bug)."""


class EngineUserError(ValueError):
  """A user-facing problem: the message names what was wrong and the fix."""


class CheckpointMismatchError(EngineUserError):
  """A checkpoint in model_dir does not fit the model being restored."""


class NonFiniteLossError(EngineUserError):
  """Training produced NaN or Inf; the last good checkpoint is kept."""


class CheckpointUnreadableError(EngineUserError):
  """model_dir holds checkpoint files, but none of them can be read."""


class CheckpointSaveError(EngineUserError):
  """A checkpoint could not be written (disk full, read-only directory)."""


class InputTooSmallError(EngineUserError):
  """An input's spatial size is smaller than a layer's window."""
