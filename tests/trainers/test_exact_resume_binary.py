"""A Dropout model killed (SIGTERM, SIGINT, SIGKILL) at random points and
resumed each time ends bit-equal to an uninterrupted run (--deterministic)."""

from __future__ import annotations

import random
import signal

import pytest

from tests import testing
from tests.trainers.test_interrupt_binary import (assert_bit_equal,
                                                  final_weights, global_step,
                                                  start_training)

WORDS = ("the quick brown fox jumps over the lazy dog while a small cat "
         "sleeps in the warm sun and birds sing").split()


def corpus_text(lines: int = 30) -> str:
  rng = random.Random(0)
  return "\n".join(" ".join(rng.choice(WORDS) for _ in range(6))
                   for _ in range(lines))


def generator_args(corpus) -> tuple[str, ...]:
  return ("--model=sonnets_generator", f"--data_path={corpus}",
          "--epochs=16", "--batch_size=8", "--steps_per_loop=1",
          "--checkpoint_every=7", "--deterministic",
          "--hparam=embedding_dim=8", "--hparam=bilstm_units=8",
          "--hparam=lstm_units=8", "--hparam=dropout=0.5",
          "--hparam=sample_length=0")


def interrupt_once(model_dir, args, signum, delay: float) -> bool:
  """Runs until the first progress line + delay, then sends `signum`.

  Returns False if the run finished before the signal could arrive.
  """
  process = start_training(model_dir, *args)
  for line in process.stdout:
    if line.startswith("epoch "):
      break
  process.poll()
  if process.returncode is not None:
    process.communicate()
    return False
  import time
  time.sleep(delay)
  process.send_signal(signum)
  _, err = process.communicate(timeout=120)
  if process.returncode == 0:
    return False
  expected = -signal.SIGKILL if signum == signal.SIGKILL else 128 + signum
  assert process.returncode == expected, err
  return True


def test_dropout_model_killed_three_times_resumes_bit_exactly(tmp_path):
  corpus = tmp_path / "corpus.txt"
  corpus.write_text(corpus_text())
  args = generator_args(corpus)
  reference = tmp_path / "reference"
  result = testing.run_binary("trainers.train", f"--model_dir={reference}",
                              *args)
  assert result.returncode == 0, result.stderr
  total = global_step(reference)
  model_dir = tmp_path / "killed"
  rng = random.Random(8)
  interrupted = 0
  for signum in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
    interrupted += interrupt_once(model_dir, args, signum,
                                  rng.uniform(0.0, 0.2))
  assert interrupted >= 2, "runs finished before the signals"
  result = testing.run_binary("trainers.train", f"--model_dir={model_dir}",
                              *args)
  assert result.returncode == 0, result.stderr
  assert global_step(model_dir) == total
  assert_bit_equal(final_weights(model_dir), final_weights(reference))
