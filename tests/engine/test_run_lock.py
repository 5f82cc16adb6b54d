"""One trainer per model_dir; stale locks of dead processes are taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from engine.run_lock import LOCK_FILE, RunLock, RunLockedError


def write_lock(directory, host, pid):
  (directory / LOCK_FILE).write_text(f"{host} {pid}\n")


def dead_pid() -> int:
  process = subprocess.Popen([sys.executable, "-c", "pass"])
  process.wait()
  return process.pid


def test_lock_file_holds_host_and_pid_and_is_removed_on_exit(tmp_path):
  with RunLock(str(tmp_path)):
    host, pid = (tmp_path / LOCK_FILE).read_text().split()
    assert host == socket.gethostname() and int(pid) == os.getpid()
  assert not (tmp_path / LOCK_FILE).exists()


def test_a_live_holder_is_refused(tmp_path):
  holder = subprocess.Popen([sys.executable, "-c",
                             "import time; time.sleep(30)"])
  try:
    write_lock(tmp_path, socket.gethostname(), holder.pid)
    with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
      RunLock(str(tmp_path)).acquire()
  finally:
    holder.kill()
    holder.wait()
  assert (tmp_path / LOCK_FILE).read_text().split()[1] == str(holder.pid)


def test_stale_lock_of_a_dead_pid_is_taken_over_with_a_warning(tmp_path):
  pid = dead_pid()
  write_lock(tmp_path, socket.gethostname(), pid)
  warnings = []
  with RunLock(str(tmp_path), warn_fn=warnings.append):
    assert (tmp_path / LOCK_FILE).read_text().split()[1] == str(os.getpid())
  assert len(warnings) == 1 and f"pid {pid}" in warnings[0]


def test_lock_of_another_host_is_refused_with_the_file_to_delete(tmp_path):
  write_lock(tmp_path, "elsewhere.example", 1)
  with pytest.raises(RunLockedError, match="elsewhere.example.*delete"):
    RunLock(str(tmp_path)).acquire()
