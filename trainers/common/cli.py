"""Running a binary: quiet TF logs, user mistakes as one line, exit codes.

Every binary ends with `cli.run(main)` instead of `app.run(main)`. Flags
are parsed before TensorFlow is imported (binaries import it inside main),
so a bad flag costs a fraction of a second. A user's
mistake (bad flag value, bad data, wrong model_dir) raises `UsageError`,
`data.errors.DataError` or another known error; it is printed as one line,
`error: <message>`, on stderr and the process exits with status 2, without a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import tempfile

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


# Start-up chatter of TF's C++ runtime on a machine without a GPU.
_STARTUP_NOISE = re.compile(
    r"absl::InitializeLog|cudart_stub|cuda_platform|cuda_dnn|cuda_fft|"
    r"cuda_blas|cpu_feature_guard|To enable the following instructions|"
    r"oneDNN custom operations|computation placer already registered|"
    r"Unable to register cu")


@contextlib.contextmanager
def quiet_tf_startup():
  """Filters TF's C++ start-up chatter out of stderr inside the block.

  The C++ runtime writes to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL
  applies, so stderr is captured at the descriptor level; every line that
  is not known chatter is passed on unchanged afterwards.
  """
  fd = sys.stderr.fileno()
  saved = os.dup(fd)
  with tempfile.TemporaryFile() as captured:
    sys.stderr.flush()
    os.dup2(captured.fileno(), fd)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, fd)
      os.close(saved)
      captured.seek(0)
      for line in captured.read().decode(errors="replace").splitlines():
        if not _STARTUP_NOISE.search(line):
          print(line, file=sys.stderr)


def fail(message: str) -> None:
  """Prints `error: message` as one line and exits with EXIT_USAGE."""
  print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
  sys.exit(EXIT_USAGE)


def _wants_multi_worker() -> bool:
  from absl import flags  # pylint: disable=import-outside-toplevel
  return ("strategy" in flags.FLAGS and
          flags.FLAGS.strategy == "multi_worker")


def _guard(main):
  def guarded(argv):
    with quiet_tf_startup():
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      if not _wants_multi_worker():
        # Starts the runtime (and its chatter) now. A multi-worker strategy
        # must configure collectives first, so it is left alone then.
        tf.config.list_logical_devices()
    from engine.interrupt import TrainingInterrupted, exit_status
    try:
      return main(argv)
    except user_error_types() as e:
      fail(str(e))
    except TrainingInterrupted as e:
      print(f"{e}; checkpoint saved; resume with: {resume_command()}",
            file=sys.stderr, flush=True)
      sys.exit(e.exit_status)
    except KeyboardInterrupt:
      print("interrupted by SIGINT outside the training loop; nothing "
            "more was saved",
            file=sys.stderr, flush=True)
      sys.exit(exit_status(2))
  return guarded


def resume_command() -> str:
  """The command line of this process, to paste to resume it."""
  main_module = sys.modules.get("__main__")
  spec = getattr(main_module, "__spec__", None)
  program = (f"python -m {spec.name}" if spec is not None
             else f"python {sys.argv[0]}")
  return " ".join([program, *map(shlex.quote, sys.argv[1:])])


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing with a bad value reported as one `error:` line.

  absl's log verbosity defaults to WARNING here, so TF's Python INFO lines
  (e.g. checkpoint sharding timings) stay out of the progress output;
  `--verbosity=0` brings them back.
  """
  from absl import flags  # pylint: disable=import-outside-toplevel
  from absl import logging  # pylint: disable=import-outside-toplevel
  try:
    remaining = flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"{e} (see --helpfull)")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  return remaining


def run(main) -> None:
  """absl's app.run with user errors reported as a single line."""
  app.run(_guard(main), flags_parser=parse_flags)
