"""SIGINT/SIGTERM through trainers.train: save, one line, exit 130/143, and
a resume that ends bit-equal to an uninterrupted run (--deterministic)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests import testing

ARGS = ("--model=series_dnn", "--epochs=30", "--checkpoint_every=31",
        "--steps_per_loop=1", "--hparam=preset=week1", "--deterministic")
TOTAL_STEPS = 30 * 31


def final_weights(model_dir) -> dict[str, np.ndarray]:
  """Every model variable of the newest checkpoint."""
  reader = tf.train.load_checkpoint(str(model_dir))
  return {k: reader.get_tensor(k)
          for k in reader.get_variable_to_shape_map()
          if k.startswith("model/") and "OPTIMIZER" not in k}


def assert_bit_equal(got: dict, expected: dict) -> None:
  assert got.keys() == expected.keys()
  for key in expected:
    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def global_step(model_dir) -> int:
  return int(tf.train.load_checkpoint(str(model_dir)).get_tensor(
      "global_step/.ATTRIBUTES/VARIABLE_VALUE"))


def start_training(model_dir, *args):
  """Starts trainers.train; a subprocess.Popen look-alike."""
  return testing.start_binary("trainers.train", f"--model_dir={model_dir}",
                              *args)


def signal_after_first_epoch(process, signum, delay: float):
  """Waits for the first progress line, sleeps `delay`, sends `signum`."""
  for line in process.stdout:
    if line.startswith("epoch 1/"):
      break
  time.sleep(delay)
  process.send_signal(signum)
  out, err = process.communicate(timeout=120)
  return process.returncode, out, err


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("reference")
  result = testing.run_binary("trainers.train", f"--model_dir={model_dir}",
                              *ARGS)
  assert result.returncode == 0, result.stderr
  return final_weights(model_dir)


@pytest.mark.parametrize("signum, status, seed", [
    (signal.SIGTERM, 143, 1), (signal.SIGINT, 130, 2)],
    ids=["sigterm", "sigint"])
def test_signal_saves_says_how_to_resume_and_resumes_bit_exactly(
    tmp_path, reference, signum, status, seed):
  model_dir = tmp_path / "run"
  process = start_training(model_dir, *ARGS)
  delay = random.Random(seed).uniform(0.0, 0.1)
  code, _, err = signal_after_first_epoch(process, signum, delay)
  assert code == status, err
  lines = [l for l in err.splitlines() if l.strip()]
  assert len(lines) == 1, err
  assert "Traceback" not in err
  stopped = global_step(model_dir)
  assert 31 <= stopped < TOTAL_STEPS, "finished before the signal"
  name = signal.Signals(signum).name
  assert lines[0].startswith(f"stopped by {name} at step {stopped} "), err
  assert f"resume with: python -m trainers.train --model_dir={model_dir}" \
      in lines[0]
  resumed = testing.run_binary("trainers.train", f"--model_dir={model_dir}",
                               *ARGS)
  assert resumed.returncode == 0, resumed.stderr
  assert global_step(model_dir) == TOTAL_STEPS
  assert_bit_equal(final_weights(model_dir), reference)
