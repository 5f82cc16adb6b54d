"""One trainer per model_dir: a lock file holding host and pid.

    with RunLock(model_dir):
      trainer.fit(...)

A second trainer on the same directory is refused with `RunLockedError`.
A lock left by a process that died (SIGKILL, power loss) on this host is
taken over with a warning; one from another host cannot be checked and is
refused with the command to remove it.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Callable

from engine.errors import EngineUserError

LOCK_FILE = ".lock"


class RunLockedError(EngineUserError):
  """Another live process holds the model_dir's lock."""


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _read_owner(path: str) -> tuple[str, int] | None:
  """(host, pid) from a lock file, or None if it is unreadable."""
  try:
    with open(path) as f:
      host, pid = f.read().split()
    return host, int(pid)
  except (OSError, ValueError):
    return None


class RunLock:
  """Holds `directory/.lock` while the block runs.

  Args:
    directory: the model_dir (created if absent).
    warn_fn: where the stale-lock warning goes (stderr by default).
  """

  def __init__(self, directory: str,
               warn_fn: Callable[[str], None] | None = None):
    self.path = os.path.join(directory, LOCK_FILE)
    self._directory = directory
    self._warn = warn_fn or (lambda s: print(s, file=sys.stderr, flush=True))
    self._held = False

  def acquire(self) -> None:
    """Takes the lock.

    Raises:
      RunLockedError: a live process (or one on another host) holds it.
    """
    os.makedirs(self._directory, exist_ok=True)
    me = f"{socket.gethostname()} {os.getpid()}\n"
    while not self._held:
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      except FileExistsError:
        self._take_over_if_stale()
        continue
      with os.fdopen(fd, "w") as f:
        f.write(me)
      self._held = True

  def _take_over_if_stale(self) -> None:
    owner = _read_owner(self.path)
    if owner is not None:
      host, pid = owner
      if host != socket.gethostname():
        raise RunLockedError(
            f"{self._directory} is locked by pid {pid} on host {host} "
            f"({self.path}); if that run is over, delete the lock file")
      if _alive(pid) and pid != os.getpid():
        raise RunLockedError(
            f"{self._directory} is in use by another trainer (pid {pid}); "
            "wait for it to finish or stop it, or use another --model_dir")
      self._warn(f"warning: taking over the stale lock of pid {pid}, "
                 f"which is gone ({self.path})")
    else:
      self._warn(f"warning: replacing the unreadable lock file {self.path}")
    try:
      os.remove(self.path)
    except FileNotFoundError:
      pass

  def release(self) -> None:
    """Removes the lock file if this process holds it."""
    if self._held:
      self._held = False
      try:
        os.remove(self.path)
      except FileNotFoundError:
        pass

  def __enter__(self) -> "RunLock":
    self.acquire()
    return self

  def __exit__(self, *exc_info) -> None:
    self.release()
