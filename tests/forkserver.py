"""A fork server for the binary tests: TensorFlow is imported once.

Every `python -m trainers.X` a test runs spends ~3.5 s of its ~4 s
importing TensorFlow and the project. The server is a separate, clean
process that imports them once and never starts the TF runtime; each
binary run is a fork of it that executes the module as `python -m` would
(`runpy`, `__main__`, its own argv, cwd, environment, stdin from /dev/null,
stdout/stderr to files), so the binary still parses its flags, builds its
strategy and initialises TF in a process of its own.

What a fork cannot reproduce is an environment variable read while TF is
imported (e.g. TF_ENABLE_ONEDNN_OPTS): `client.run` takes `env` only for
variables outside `IMPORT_TIME_ENV`, and the server inherits the test
process's environment, so a whole suite run with oneDNN off stays so.

Protocol: one JSON request per line on the server's stdin, one JSON reply
per line on its stdout.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
import traceback

IMPORT_TIME_ENV = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL",
                   "TF_CPP_MAX_VLOG_LEVEL", "CUDA_VISIBLE_DEVICES",
                   "TF_XLA_FLAGS", "PYTHONHASHSEED", "PYTHONPATH")
PRELOADED = ("tensorflow", "tensorflow_text", "numpy", "h5py", "absl.app",
             "absl.flags", "absl.logging", "models.registry",
             "trainers.common.cli", "trainers.common.session")
_POLL_SECONDS = 0.005


def serve() -> None:
  """The server's main loop: preload, then one forked run per request."""
  repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  sys.path[0] = repo_root
  for name in PRELOADED:
    __import__(name)
  replies = sys.stdout
  print(json.dumps({"ready": os.getpid()}), file=replies, flush=True)
  for line in sys.stdin:
    request = json.loads(line)
    reply = _OPERATIONS[request["op"]](request)
    print(json.dumps(reply), file=replies, flush=True)


def _spawn(request: dict) -> dict:
  """Forks a child for `request`; replies with its pid at once."""
  sys.stdout.flush()
  sys.stderr.flush()
  pid = os.fork()
  if pid == 0:
    _child(request)
  return {"pid": pid}


def _wait(request: dict) -> dict:
  """Waits for child `pid` up to `timeout` seconds (0: just a look); with
  `kill`, a child still running then is killed and reaped."""
  deadline = time.monotonic() + request["timeout"]
  while True:
    done, status = os.waitpid(request["pid"], os.WNOHANG)
    if done:
      return {"returncode": os.waitstatus_to_exitcode(status)}
    if time.monotonic() >= deadline:
      if request.get("kill"):
        os.kill(request["pid"], 9)
        os.waitpid(request["pid"], 0)
      return {"timeout": True}
    time.sleep(_POLL_SECONDS)


def _run(request: dict) -> dict:
  """Forks a child for `request` and waits for it within its timeout."""
  return _wait(dict(_spawn(request), timeout=request["timeout"], kill=True))


_OPERATIONS = {"run": _run, "spawn": _spawn, "wait": _wait}


def _child(request: dict) -> None:
  """Runs the module as `python -m` would, then exits (never returns)."""
  code = 1
  try:
    _redirect(request)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["module"], *request["args"]]
    code = _run_module(request["module"])
  except BaseException:  # noqa: B902 - the child must always exit.
    traceback.print_exc()
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _redirect(request: dict) -> None:
  """stdin from /dev/null, stdout and stderr to the request's files."""
  stdin = os.open(os.devnull, os.O_RDONLY)
  os.dup2(stdin, 0)
  for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, fd)
    os.close(target)


def _run_module(module: str) -> int:
  """Exit status of running `module` as __main__ (SystemExit honoured)."""
  try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
  except SystemExit as e:
    if e.code is None or isinstance(e.code, int):
      return e.code or 0
    print(e.code, file=sys.stderr)
    return 1
  except BaseException:  # noqa: B902 - as the interpreter would report it.
    traceback.print_exc()
    return 1
  return 0


class Client:
  """The test process's handle on one server (started on first use)."""

  def __init__(self, repo_root: str):
    self._repo_root = repo_root
    self._server = None

  def run(self, module: str, args: list[str], cwd: str, env: dict,
          timeout: float) -> subprocess.CompletedProcess:
    """Runs `python -m module args` in a fork; as subprocess.run would.

    Raises:
      subprocess.TimeoutExpired: the run took longer than `timeout`.
    """
    with tempfile.TemporaryDirectory() as scratch:
      out, err = (os.path.join(scratch, n) for n in ("out", "err"))
      reply = self.request(op="run", module=module, args=list(args),
                           cwd=cwd, env=env, timeout=timeout, stdout=out,
                           stderr=err)
      stdout, stderr = (_read(p) for p in (out, err))
    command = [sys.executable, "-m", module, *args]
    if reply.get("timeout"):
      raise subprocess.TimeoutExpired(command, timeout, stdout, stderr)
    return subprocess.CompletedProcess(command, reply["returncode"], stdout,
                                       stderr)

  def spawn(self, module: str, args: list[str], cwd: str, env: dict
            ) -> "ForkedProcess":
    """Starts `python -m module args` in a fork; a Popen look-alike with
    text `stdout` to read while it runs."""
    return ForkedProcess(self, module, list(args), cwd, env)

  def request(self, **request) -> dict:
    """Sends one request and returns the server's reply."""
    server = self._started()
    server.stdin.write(json.dumps(request) + "\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline())

  def _started(self) -> subprocess.Popen:
    if self._server is None or self._server.poll() is not None:
      self._server = subprocess.Popen(
          [sys.executable, "-c", "import tests.forkserver as f; f.serve()"],
          cwd=self._repo_root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
          stderr=subprocess.DEVNULL, text=True,
          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
      ready = self._server.stdout.readline()
      if not ready.startswith('{"ready"'):
        raise RuntimeError("the binary tests' fork server did not start")
    return self._server

  def close(self) -> None:
    """Stops the server (closing its stdin ends its loop)."""
    if self._server is not None and self._server.poll() is None:
      self._server.stdin.close()
      self._server.wait(timeout=30)


class ForkedProcess:
  """A binary running in a fork of the server, used as a subprocess.Popen
  with stdout and stderr pipes in text mode (stdout comes through a FIFO;
  stderr through a file, read when the process has ended)."""

  def __init__(self, client: Client, module: str, args: list[str],
               cwd: str, env: dict):
    self._client = client
    self._scratch = tempfile.TemporaryDirectory()
    out = os.path.join(self._scratch.name, "out")
    self._stderr_path = os.path.join(self._scratch.name, "err")
    os.mkfifo(out)
    self.args = [sys.executable, "-m", module, *args]
    self.pid = client.request(op="spawn", module=module, args=args, cwd=cwd,
                              env=env, timeout=0, stdout=out,
                              stderr=self._stderr_path)["pid"]
    self.stdout = open(out, encoding="utf-8", errors="replace")
    self.returncode = None

  def send_signal(self, signum: int) -> None:
    """Sends `signum` unless the process has been reaped."""
    if self.returncode is None:
      os.kill(self.pid, signum)

  def poll(self) -> int | None:
    """The exit status if the process has ended, else None."""
    return self._wait(0)

  def wait(self, timeout: float | None = None) -> int:
    """Waits for the end.

    Raises:
      subprocess.TimeoutExpired: still running after `timeout` seconds.
    """
    if self._wait(1e9 if timeout is None else timeout) is None:
      raise subprocess.TimeoutExpired(self.args, timeout)
    return self.returncode

  def communicate(self, timeout: float | None = None) -> tuple[str, str]:
    """Reads the rest of stdout, waits, and returns (stdout, stderr)."""
    rest = self.stdout.read()
    self.stdout.close()
    self.wait(timeout)
    stderr = _read(self._stderr_path)
    self._scratch.cleanup()
    return rest, stderr

  def _wait(self, timeout: float) -> int | None:
    if self.returncode is None:
      reply = self._client.request(op="wait", pid=self.pid, timeout=timeout)
      self.returncode = reply.get("returncode")
    return self.returncode


def usable() -> bool:
  """True where fork exists and TFPRACTICE_NO_FORKSERVER is unset."""
  return hasattr(os, "fork") and not os.environ.get(
      "TFPRACTICE_NO_FORKSERVER")


def _read(path: str) -> str:
  with open(path, encoding="utf-8", errors="replace") as f:
    return f.read()
