"""Two workers on localhost: one killed mid-run, both restarted, end with the
weights of an uninterrupted two-worker run."""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from tests import testing
from tests.trainers.test_interrupt_binary import final_weights, global_step

# 60 epochs of one step; checkpoints every 10 steps, so the kill after the
# second one leaves about 40 steps for the restarted workers.
ARGS = ("--model=linear_regression", "--epochs=60", "--checkpoint_every=10",
        "--steps_per_loop=1", "--deterministic")


def finish(workers) -> None:
  for worker in workers:
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err


def kill_after_second_checkpoint(workers, model_dir) -> None:
  """SIGKILLs the non-chief once two checkpoints exist, then the chief,
  unless it has already failed on its peer's death."""
  deadline = time.time() + 300
  while time.time() < deadline and len(
      list(model_dir.glob("ckpt-*.index"))) < 2:
    time.sleep(0.01)
  workers[1].send_signal(signal.SIGKILL)
  time.sleep(0.2)
  workers[0].send_signal(signal.SIGKILL)
  for worker in workers:
    worker.communicate(timeout=60)
  assert workers[1].returncode == -signal.SIGKILL
  assert workers[0].returncode != 0


def test_killed_worker_then_both_restarted_match_an_uninterrupted_run(
    tmp_path):
  reference = tmp_path / "reference"
  finish(testing.start_workers(*ARGS, f"--model_dir={reference}"))
  model_dir = tmp_path / "killed"
  kill_after_second_checkpoint(
      testing.start_workers(*ARGS, f"--model_dir={model_dir}"), model_dir)
  stopped = global_step(model_dir)
  assert 0 < stopped < global_step(reference), "finished before the kill"
  finish(testing.start_workers(*ARGS, f"--model_dir={model_dir}"))
  assert global_step(model_dir) == global_step(reference)
  expected, got = final_weights(reference), final_weights(model_dir)
  assert got.keys() == expected.keys()
  for key in expected:
    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
  assert not [n for n in os.listdir(model_dir)
              if n.startswith(".worker_scratch")]
