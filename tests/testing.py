"""Helpers every test may use: device setup, strategies, temp model dirs."""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests import forkserver

NUM_LOGICAL_CPUS = 2
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def configure_logical_cpus(n: int = NUM_LOGICAL_CPUS) -> None:
  """Splits the physical CPU into `n` logical devices (once per process)."""
  cpus = tf.config.list_physical_devices("CPU")
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
  except RuntimeError:
    pass  # The runtime is already initialised; keep what it has.


def logical_cpus() -> list[str]:
  """Names of the logical CPU devices, e.g. ['/device:CPU:0', ...]."""
  return [d.name for d in tf.config.list_logical_devices("CPU")]


@functools.lru_cache(maxsize=None)
def mirrored_strategy() -> tf.distribute.MirroredStrategy:
  """THE MirroredStrategy over the two logical CPUs (one per process).

  Every new MirroredStrategy numbers its collective ops from the same
  start, and the runtime remembers each number's first tensor shape, so a
  second strategy in one process can collide with the first's all-reduces.
  """
  devices = logical_cpus()
  if len(devices) < 2:
    raise RuntimeError("need 2 logical CPUs; import tests.conftest first")
  return tf.distribute.MirroredStrategy(devices[:2])


def strategies() -> dict[str, tf.distribute.Strategy]:
  """Named strategies that tests parameterise over."""
  return {
      "default": tf.distribute.get_strategy(),
      "one_device": tf.distribute.OneDeviceStrategy("/cpu:0"),
      "mirrored": mirrored_strategy(),
  }


def assert_allclose(actual, expected, atol=1e-5, rtol=1e-5) -> None:
  """np.testing.assert_allclose over tensors or arrays."""
  np.testing.assert_allclose(np.asarray(actual), np.asarray(expected),
                             atol=atol, rtol=rtol)


def run_binary(module: str, *args: str, timeout: int = 300,
               env: dict | None = None, cwd: str | None = None
               ) -> subprocess.CompletedProcess:
  """Runs `python -m module args...` (from the repo root unless `cwd`).

  The run is a fork of the tests' fork server (TF imported once, see
  tests/forkserver.py) unless `env` sets a variable TF reads at import, or
  TFPRACTICE_NO_FORKSERVER is set; then it is a fresh interpreter.
  """
  full_env = _binary_env(env)
  if cwd is not None:
    full_env.setdefault("PYTHONPATH", str(REPO_ROOT))
  if _forkable(env):
    return _fork_client().run(module, list(args), cwd or REPO_ROOT,
                              full_env, timeout)
  return subprocess.run(
      [sys.executable, "-m", module, *args], cwd=cwd or REPO_ROOT,
      env=full_env,
      capture_output=True, text=True, timeout=timeout)


def start_binary(module: str, *args: str, cwd: str | None = None,
                 env: dict | None = None):
  """Starts `python -m module args...`: a subprocess.Popen (or its
  look-alike in a fork of the fork server, as `run_binary` decides) with
  text stdout/stderr pipes; `env` adds variables to the environment."""
  full_env = _binary_env(env)
  if _forkable(env):
    return _fork_client().spawn(module, list(args), cwd or REPO_ROOT,
                                full_env)
  return subprocess.Popen([sys.executable, "-m", module, *args],
                          cwd=cwd or REPO_ROOT, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def free_ports(n: int) -> list[int]:
  """`n` TCP ports on localhost that were free a moment ago."""
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def start_workers(*args: str, count: int = 2) -> list:
  """Starts `count` workers of `python -m trainers.train args...
  --strategy=multi_worker`, a cluster on localhost (TF_CONFIG each)."""
  cluster = {"worker": [f"localhost:{p}" for p in free_ports(count)]}
  return [start_binary("trainers.train", *args, "--strategy=multi_worker",
                       env={"TF_CONFIG": json.dumps({
                           "cluster": cluster,
                           "task": {"type": "worker", "index": index}})})
          for index in range(count)]


def _binary_env(env: dict | None) -> dict:
  """The environment of a binary run: quiet TF, unbuffered output, `env`."""
  full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
  full_env.update(env or {})
  return full_env


def _forkable(env: dict | None) -> bool:
  """A fork of the server serves unless `env` sets what TF reads at import."""
  return forkserver.usable() and not set(env or {}) & set(
      forkserver.IMPORT_TIME_ENV)


@functools.lru_cache(maxsize=None)
def _fork_client() -> forkserver.Client:
  client = forkserver.Client(REPO_ROOT)
  atexit.register(client.close)
  return client


def one_error_line(result: subprocess.CompletedProcess, *fragments: str
                   ) -> str:
  """Asserts a binary refused with exit 2 and one `error: ...` line holding
  every fragment; returns the line."""
  assert result.returncode == 2, result.stderr
  lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
  for fragment in fragments:
    assert fragment in lines[0], lines[0]
  return lines[0]


@contextlib.contextmanager
def moved_away(path):
  """Renames `path` for the duration of the block (and back), so code run
  inside proves it does not read it, e.g. a run's training data."""
  path = os.fspath(path)
  hidden = path + ".moved-away"
  os.rename(path, hidden)
  try:
    assert not os.path.exists(path)
    yield
  finally:
    os.rename(hidden, path)


class FixedPredictions:
  """A stand-in trainer whose `predict` returns the given outputs."""

  def __init__(self, outputs):
    self.outputs = np.asarray(outputs, np.float32)

  def predict(self, dataset):
    del dataset
    return self.outputs
