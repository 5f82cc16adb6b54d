"""Running a binary: quiet TF logs, user mistakes as one line, exit codes.

Every binary ends with `cli.run(main)` instead of `app.run(main)`. A user's
mistake (bad flag value, bad data, wrong model_dir) raises `UsageError`,
`data.errors.DataError` or another known error; it is printed as one line,
`error: <message>`, on stderr and the process exits with status 2, without a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402

EXIT_USAGE = 2


class UsageError(ValueError):
  """A user's mistake on the command line or in model_dir."""


def user_error_types() -> tuple[type[BaseException], ...]:
  """Exception types whose message is enough for the user."""
  from data.errors import DataError
  from models.registry import UnknownModelError
  types = [UsageError, DataError, UnknownModelError, FileNotFoundError]
  try:
    from engine.errors import EngineUserError
    types.append(EngineUserError)
  except ImportError:
    pass
  return tuple(types)


def fail(message: str) -> None:
  """Prints `error: message` as one line and exits with EXIT_USAGE."""
  print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
  sys.exit(EXIT_USAGE)


def _guard(main):
  def guarded(argv):
    try:
      return main(argv)
    except user_error_types() as e:
      fail(str(e))
  return guarded


def run(main) -> None:
  """absl's app.run with user errors reported as a single line."""
  app.run(_guard(main))
