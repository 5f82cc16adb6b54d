"""Checkpoints of a whole run: model, optimizer, global step, data position.

`RunCheckpoint` wraps `tf.train.Checkpoint` + `tf.train.CheckpointManager`.
Before restoring it compares the checkpoint's variables with the model's, so
that restoring into a different model fails with one line naming what does
not match, and touches nothing on disk.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import tensorflow as tf

from engine.errors import CheckpointMismatchError

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_MAX_NAMED = 3


class RunCheckpoint:
  """Saves and restores every object of a run under one directory.

  Args:
    directory: where `ckpt-<step>` files go (usually model_dir).
    max_to_keep: how many recent checkpoints to keep.
    is_chief: non-chief workers (multi-worker) write to a scratch directory
      that is removed after each save, as the collective save requires.
    **objects: trackables to save, e.g. model=..., optimizer=..., step=...
      The model (if any) must be passed as `model` for the mismatch check.
  """

  def __init__(self, directory: str, max_to_keep: int = 5,
               is_chief: bool = True, **objects: Any):
    self._objects = objects
    self._directory = directory
    self._is_chief = is_chief
    self.checkpoint = tf.train.Checkpoint(**objects)
    save_dir = directory if is_chief else os.path.join(
        directory, f".worker_scratch_{os.getpid()}")
    self._manager = tf.train.CheckpointManager(
        self.checkpoint, save_dir, max_to_keep=max_to_keep,
        checkpoint_name="ckpt")

  @property
  def latest(self) -> str | None:
    """Path prefix of the newest checkpoint in the directory, or None."""
    return tf.train.latest_checkpoint(self._directory)

  def restore_latest(self) -> str | None:
    """Restores the newest checkpoint, if any; returns its path.

    Raises:
      CheckpointMismatchError: the checkpoint does not fit these objects.
    """
    path = self.latest
    if path is None:
      return None
    check_compatible(path, self._objects)
    status = self.checkpoint.restore(path)
    try:
      status.assert_existing_objects_matched()
    except AssertionError as e:
      raise CheckpointMismatchError(
          f"checkpoint {path} does not match this run: "
          f"{' '.join(str(e).split())[:300]}") from None
    return path

  def save(self, step: int) -> str:
    """Writes `ckpt-<step>` and drops checkpoints beyond max_to_keep."""
    path = self._manager.save(checkpoint_number=step)
    if not self._is_chief:
      shutil.rmtree(self._manager.directory, ignore_errors=True)
    return path


def variable_shapes(module: tf.Module, prefix: str) -> dict[str, tuple]:
  """Checkpoint key (without the value suffix) -> shape, for a module tree."""
  shapes = {}
  for path, var in module._flatten(  # pylint: disable=protected-access
      with_path=True, predicate=lambda v: isinstance(v, tf.Variable)):
    key = "/".join([prefix, *map(str, path)])
    shapes.setdefault(key, tuple(var.shape.as_list()))
  return shapes


def saved_shapes(path: str, prefix: str) -> dict[str, tuple]:
  """Checkpoint key -> shape for the saved variables under `prefix/`."""
  shapes = {}
  for key, shape in tf.train.list_variables(path):
    if key.startswith(prefix + "/") and key.endswith(_VALUE_SUFFIX):
      shapes[key[:-len(_VALUE_SUFFIX)]] = tuple(shape)
  return shapes


def check_compatible(path: str, objects: dict[str, Any]) -> None:
  """Raises CheckpointMismatchError naming what differs from the model.

  Compares the variables of `objects["model"]` with those saved under
  `model/` in the checkpoint at `path`: shapes, missing and extra entries.
  """
  model = objects.get("model")
  if model is None or not isinstance(model, tf.Module):
    return
  ours = variable_shapes(model, "model")
  theirs = saved_shapes(path, "model")
  problems = describe_mismatch(ours, theirs)
  if problems:
    raise CheckpointMismatchError(
        f"checkpoint {path} holds a different model: {'; '.join(problems)}. "
        "Use another --model_dir, or the model the checkpoint was made with; "
        "nothing on disk was changed")


def describe_mismatch(ours: dict[str, tuple], theirs: dict[str, tuple]
                      ) -> list[str]:
  """Human-readable differences between two key -> shape maps."""
  problems = []
  shape_diffs = [k for k in ours if k in theirs and ours[k] != theirs[k]]
  for key in shape_diffs[:_MAX_NAMED]:
    problems.append(f"{key} has shape {list(ours[key])} in the model but "
                    f"{list(theirs[key])} in the checkpoint")
  missing = [k for k in ours if k not in theirs]
  extra = [k for k in theirs if k not in ours]
  if missing:
    problems.append(f"{len(missing)} model variable(s) absent from the "
                    f"checkpoint ({', '.join(missing[:_MAX_NAMED])})")
  if extra:
    problems.append(f"{len(extra)} checkpoint variable(s) the model lacks "
                    f"({', '.join(extra[:_MAX_NAMED])})")
  return problems
