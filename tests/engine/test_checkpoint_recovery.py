"""RunCheckpoint survives damaged checkpoints and failed saves."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from engine import checkpoint as checkpoint_lib
from engine.errors import CheckpointSaveError, CheckpointUnreadableError


class Tiny(tf.Module):

  def __init__(self):
    super().__init__()
    self.w = tf.Variable(np.zeros([64], np.float32), name="w")


def make(directory, max_to_keep=5, warnings=None):
  model = Tiny()
  step = tf.Variable(0, dtype=tf.int64)
  run = checkpoint_lib.RunCheckpoint(
      str(directory), max_to_keep=max_to_keep,
      warn_fn=(warnings.append if warnings is not None else None),
      model=model, global_step=step)
  return run, model, step


def save_steps(directory, steps, max_to_keep=5):
  run, model, step = make(directory, max_to_keep)
  for n in steps:
    model.w.assign(np.full([64], n, np.float32))
    step.assign(n)
    run.save(n)
  return run


def data_file(directory, n):
  return next(str(p) for p in directory.glob(f"ckpt-{n}.data-*"))


def truncate(path):
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def flip_bit(path):
  with open(path, "r+b") as f:
    f.seek(40)
    byte = f.read(1)
    f.seek(40)
    f.write(bytes([byte[0] ^ 0x10]))


@pytest.mark.parametrize("damage", [
    lambda d: truncate(data_file(d, 3)),
    lambda d: flip_bit(data_file(d, 3)),
    lambda d: os.remove(d / "ckpt-3.index"),
], ids=["truncated_data", "flipped_bit", "missing_index"])
def test_restore_falls_back_to_newest_readable_with_one_warning(
    tmp_path, damage):
  save_steps(tmp_path, [1, 2, 3])
  damage(tmp_path)
  warnings = []
  run, model, step = make(tmp_path, warnings=warnings)
  assert run.restore_latest().endswith("ckpt-2")
  assert int(step.numpy()) == 2 and float(model.w.numpy()[0]) == 2.0
  assert len(warnings) == 1 and "ckpt-3" in warnings[0], warnings
  assert "restoring ckpt-2" in warnings[0]


def test_missing_state_file_still_restores_the_newest(tmp_path):
  save_steps(tmp_path, [1, 2])
  os.remove(tmp_path / "checkpoint")
  warnings = []
  run, _, step = make(tmp_path, warnings=warnings)
  assert run.restore_latest().endswith("ckpt-2")
  assert int(step.numpy()) == 2 and not warnings


def test_only_unreadable_checkpoints_is_an_error_not_a_fresh_start(tmp_path):
  save_steps(tmp_path, [1])
  truncate(data_file(tmp_path, 1))
  run, _, _ = make(tmp_path)
  with pytest.raises(CheckpointUnreadableError, match="ckpt-1.*--overwrite"):
    run.restore_latest()
  assert checkpoint_lib.discard_unreadable(str(tmp_path))
  assert checkpoint_lib.checkpoint_numbers(str(tmp_path)) == []
  assert make(tmp_path)[0].restore_latest() is None


def test_first_save_after_a_fallback_removes_the_skipped_checkpoint(
    tmp_path):
  save_steps(tmp_path, [1, 2, 3])
  truncate(data_file(tmp_path, 3))
  run, _, _ = make(tmp_path, warnings=[])
  run.restore_latest()
  run.save(3)
  assert checkpoint_lib.unreadable_reason(str(tmp_path / "ckpt-3")) is None
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-3")


def test_max_to_keep_prunes_only_after_the_new_save(tmp_path):
  save_steps(tmp_path, [1, 2, 3, 4], max_to_keep=2)
  assert checkpoint_lib.checkpoint_numbers(str(tmp_path)) == [3, 4]
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")


def test_failed_write_is_one_error_and_keeps_older_checkpoints(
    tmp_path, monkeypatch):
  run = save_steps(tmp_path, [1, 2], max_to_keep=2)

  def disk_full(prefix):
    with open(prefix + ".data-00000-of-00001", "wb") as f:
      f.write(b"partial")
    raise tf.errors.ResourceExhaustedError(None, None,
                                           "No space left on device")
  monkeypatch.setattr(run, "_write", disk_full)
  with pytest.raises(CheckpointSaveError,
                     match="No space left.*ckpt-2 is intact"):
    run.save(3)
  assert checkpoint_lib.checkpoint_numbers(str(tmp_path)) == [1, 2]
  _, _, step = make(tmp_path)
  assert make(tmp_path)[0].restore_latest().endswith("ckpt-2")


def test_save_that_does_not_read_back_keeps_older_checkpoints(
    tmp_path, monkeypatch):
  run = save_steps(tmp_path, [1, 2], max_to_keep=2)
  real_write = run._write

  def corrupting_write(prefix):
    path = real_write(prefix)
    truncate(data_file(tmp_path, 3))
    return path
  monkeypatch.setattr(run, "_write", corrupting_write)
  with pytest.raises(CheckpointSaveError, match="did not read back"):
    run.save(3)
  assert checkpoint_lib.checkpoint_numbers(str(tmp_path)) == [1, 2]
