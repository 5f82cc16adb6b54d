"""Two workers on localhost: one killed mid-run, or one sent SIGTERM, and
both restarted, end with the weights of an uninterrupted two-worker run."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from tests import testing
from tests.trainers.test_interrupt_binary import final_weights, global_step

# 60 epochs of one step; checkpoints every 10 steps, so a stop after the
# second one leaves about 40 steps for the restarted workers.
ARGS = ("--model=linear_regression", "--epochs=60", "--checkpoint_every=10",
        "--steps_per_loop=1", "--deterministic")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("reference")
  finish(testing.start_workers(*ARGS, f"--model_dir={model_dir}"))
  return model_dir


def finish(workers) -> None:
  for worker in workers:
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err


def wait_for_two_checkpoints(model_dir) -> None:
  deadline = time.time() + 300
  while time.time() < deadline and len(
      list(model_dir.glob("ckpt-*.index"))) < 2:
    time.sleep(0.01)


def assert_resumes_to(model_dir, reference) -> None:
  stopped = global_step(model_dir)
  assert 0 < stopped < global_step(reference), "finished before the stop"
  finish(testing.start_workers(*ARGS, f"--model_dir={model_dir}"))
  assert global_step(model_dir) == global_step(reference)
  expected, got = final_weights(reference), final_weights(model_dir)
  assert got.keys() == expected.keys()
  for key in expected:
    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
  assert not [n for n in os.listdir(model_dir)
              if n.startswith(".worker_scratch")]


def test_killed_worker_then_both_restarted_match_an_uninterrupted_run(
    tmp_path, reference):
  model_dir = tmp_path / "killed"
  workers = testing.start_workers(*ARGS, f"--model_dir={model_dir}")
  wait_for_two_checkpoints(model_dir)
  workers[1].send_signal(signal.SIGKILL)   # the non-chief dies mid-run
  time.sleep(0.2)
  workers[0].send_signal(signal.SIGKILL)   # unless it failed on its peer
  for worker in workers:
    worker.communicate(timeout=60)
  assert workers[1].returncode == -signal.SIGKILL
  assert workers[0].returncode != 0
  assert_resumes_to(model_dir, reference)


def test_sigterm_to_one_worker_stops_both_at_one_step(tmp_path, reference):
  model_dir = tmp_path / "stopped"
  workers = testing.start_workers(*ARGS, f"--model_dir={model_dir}")
  wait_for_two_checkpoints(model_dir)
  workers[1].send_signal(signal.SIGTERM)   # only the non-chief is told
  errors = [worker.communicate(timeout=120)[1] for worker in workers]
  assert [w.returncode for w in workers] == [143, 143], errors
  assert "stopped by SIGTERM on another worker at step" in errors[0]
  assert "stopped by SIGTERM at step" in errors[1]
  step = int(errors[1].split(" at step ")[1].split()[0])
  assert f"at step {step} " in errors[0]
  assert global_step(model_dir) == step
  assert_resumes_to(model_dir, reference)
