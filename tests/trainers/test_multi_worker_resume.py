"""Two workers on localhost: one killed mid-run, both restarted, end with the
weights of an uninterrupted two-worker run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests import testing
from tests.engine.test_distribute import _free_ports
from tests.trainers.test_interrupt_binary import final_weights, global_step

ARGS = ("-m", "trainers.train", "--model=linear_regression", "--epochs=300",
        "--checkpoint_every=20", "--steps_per_loop=1", "--deterministic",
        "--strategy=multi_worker")


def start_workers(model_dir) -> list[subprocess.Popen]:
  cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
  workers = []
  for index in range(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
    workers.append(subprocess.Popen(
        [sys.executable, *ARGS, f"--model_dir={model_dir}"],
        cwd=testing.REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True))
  return workers


def finish(workers) -> None:
  for worker in workers:
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err


@pytest.mark.timeout(1800)
@pytest.mark.skipif(
    not os.environ.get("TFPRACTICE_SLOW_TESTS"),
    reason="six multi-worker processes (minutes on 2 cores); set "
           "TFPRACTICE_SLOW_TESTS=1 to run")
def test_killed_worker_then_both_restarted_match_an_uninterrupted_run(
    tmp_path):
  reference = tmp_path / "reference"
  finish(start_workers(reference))
  model_dir = tmp_path / "killed"
  workers = start_workers(model_dir)
  deadline = time.time() + 300
  while time.time() < deadline and len(
      list(model_dir.glob("ckpt-*.index"))) < 2:
    time.sleep(0.05)
  workers[1].send_signal(signal.SIGKILL)   # the non-chief dies mid-run
  time.sleep(0.5)
  workers[0].send_signal(signal.SIGKILL)   # the chief waits in a collective
  for worker in workers:
    worker.communicate(timeout=60)
  stopped = global_step(model_dir)
  assert 0 < stopped < global_step(reference), "finished before the kill"
  finish(start_workers(model_dir))
  assert global_step(model_dir) == global_step(reference)
  expected, got = final_weights(reference), final_weights(model_dir)
  assert got.keys() == expected.keys()
  for key in expected:
    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
  assert not [n for n in os.listdir(model_dir)
              if n.startswith(".worker_scratch")]
