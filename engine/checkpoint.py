"""Checkpoints of a whole run: model, optimizer, global step, data position.

`RunCheckpoint` wraps `tf.train.Checkpoint` and keeps `ckpt-<step>` files.
Before restoring it compares the checkpoint's variables with the model's, so
that restoring into a different model fails with one line naming what does
not match, and touches nothing on disk.

Damage is survived: checkpoints are found by scanning `ckpt-*` files (not
only the `checkpoint` state file), restoring falls back to the newest one
that reads back completely, a save is read back before older checkpoints
are deleted, and a failed save (disk full, read-only directory) is one
`CheckpointSaveError` line with the older checkpoints intact.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any, Callable

import tensorflow as tf

from engine.errors import CheckpointMismatchError
from engine.errors import CheckpointSaveError
from engine.errors import CheckpointUnreadableError

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_MAX_NAMED = 3


class RunCheckpoint:
  """Saves and restores every object of a run under one directory.

  Restoring takes the newest checkpoint that reads back completely (every
  tensor, so a truncated or bit-flipped `.data` file is noticed) and warns
  once about newer ones it skipped. Saving writes `ckpt-<step>`, reads it
  back, and only then deletes checkpoints beyond `max_to_keep`.

  Args:
    directory: where `ckpt-<step>` files go (usually model_dir).
    max_to_keep: how many recent checkpoints to keep.
    is_chief: non-chief workers (multi-worker) write to a scratch directory
      that is removed after each save, as the collective save requires.
    worker_id: names a non-chief's scratch directory (e.g. "worker_1"), so
      a restarted worker removes what its killed predecessor left there.
    warn_fn: where the one-line warnings go (stderr by default).
    **objects: trackables to save, e.g. model=..., optimizer=..., step=...
      The model (if any) must be passed as `model` for the mismatch check.
  """

  def __init__(self, directory: str, max_to_keep: int = 5,
               is_chief: bool = True, worker_id: str | None = None,
               warn_fn: Callable[[str], None] | None = None,
               **objects: Any):
    self._objects = objects
    self._directory = directory
    self._is_chief = is_chief
    self._max_to_keep = max_to_keep
    self._warn = warn_fn or _print_warning
    self._skipped: list[str] = []
    self.checkpoint = tf.train.Checkpoint(**objects)
    self._save_dir = directory if is_chief else os.path.join(
        directory, f".worker_scratch_{worker_id or os.getpid()}")
    if not is_chief:
      shutil.rmtree(self._save_dir, ignore_errors=True)

  @property
  def latest(self) -> str | None:
    """Path prefix of the newest complete checkpoint (index present)."""
    complete = [n for n in checkpoint_numbers(self._directory)
                if os.path.exists(_prefix(self._directory, n) + ".index")]
    return _prefix(self._directory, complete[-1]) if complete else None

  def restore_latest(self) -> str | None:
    """Restores the newest readable checkpoint, if any; returns its path.

    Raises:
      CheckpointMismatchError: the checkpoint does not fit these objects.
      CheckpointUnreadableError: checkpoint files exist, none is readable.
    """
    path = self._newest_readable(warn=True)
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

  def check_latest(self) -> str | None:
    """What restore_latest would restore, validated; changes nothing.

    Compares the model's and the (built) optimizer's variables with the
    checkpoint's, so a run can refuse before it writes anything.

    Raises:
      CheckpointMismatchError, CheckpointUnreadableError: as restore_latest.
    """
    path = self._newest_readable(warn=False)
    if path is not None:
      check_compatible(path, self._objects)
      check_compatible(path, self._objects, key="optimizer",
                       what="optimizer state (use the run's --optimizer)")
    return path

  def _newest_readable(self, warn: bool) -> str | None:
    path, skipped = newest_readable(self._directory)
    self._skipped = [p for p, _ in skipped]
    if not skipped:
      return path
    described = "; ".join(f"{os.path.basename(p)} ({why})"
                          for p, why in skipped)
    if path is None:
      raise CheckpointUnreadableError(
          f"no readable checkpoint in {self._directory}: {described}. "
          "Restore the files, or rerun trainers.train with --overwrite to "
          "discard them and start from step 0")
    if warn:
      self._warn(f"warning: skipped unreadable checkpoint(s) {described}; "
                 f"restoring {os.path.basename(path)}")
    return path

  def save(self, step: int) -> str:
    """Writes `ckpt-<step>`, verifies it, then drops old checkpoints.

    Raises:
      CheckpointSaveError: the write failed (disk full, no permission);
        the partial files are removed and older checkpoints are intact.
    """
    prefix = _prefix(self._save_dir, step)
    # Kept for checkpoints written by tf.train.CheckpointManager before.
    self.checkpoint.save_counter.assign_add(1)
    try:
      path = self._write(prefix)
    except (tf.errors.OpError, OSError) as e:
      _remove_checkpoint(prefix)
      kept = self.latest
      raise CheckpointSaveError(
          f"could not write checkpoint {prefix} "
          f"({_first_line(e)}); "
          + (f"the previous checkpoint {kept} is intact; " if kept else "")
          + "free disk space or make the directory writable, then rerun "
          "the same command to resume") from None
    if not self._is_chief:
      shutil.rmtree(self._save_dir, ignore_errors=True)
      return path
    problem = unreadable_reason(path)
    if problem:
      _remove_checkpoint(path)
      raise CheckpointSaveError(
          f"checkpoint {path} did not read back ({problem}); older "
          "checkpoints were kept; check the disk and rerun to resume")
    self._prune(step)
    return path

  def _write(self, prefix: str) -> str:
    """The raw write; a seam for fault-injection tests."""
    return self.checkpoint.write(prefix)

  def _prune(self, newest: int) -> None:
    """Deletes checkpoints beyond max_to_keep and skipped unreadable ones."""
    for path in self._skipped:
      if path != _prefix(self._directory, newest):  # just rewritten
        _remove_checkpoint(path)
    self._skipped = []
    numbers = [n for n in checkpoint_numbers(self._directory) if n <= newest]
    kept = numbers[-self._max_to_keep:]
    for number in numbers[:-self._max_to_keep]:
      _remove_checkpoint(_prefix(self._directory, number))
    write_state_file(self._directory, newest, kept)


_NUMBERED = re.compile(r"^ckpt-(\d+)(\.index|\.data-\d+-of-\d+)$")


def _prefix(directory: str, number: int) -> str:
  return os.path.join(directory, f"ckpt-{number}")


def _first_line(error: BaseException) -> str:
  text = getattr(error, "message", None) or str(error)
  return " ".join(text.split())[:200]


def _print_warning(text: str) -> None:
  print(text, file=sys.stderr, flush=True)


def write_state_file(directory: str, newest: int, kept: list[int]) -> None:
  """Writes the `checkpoint` state file tf.train.latest_checkpoint reads."""
  lines = [f'model_checkpoint_path: "ckpt-{newest}"']
  lines += [f'all_model_checkpoint_paths: "ckpt-{n}"' for n in kept]
  path = os.path.join(directory, "checkpoint")
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "w") as f:
    f.write("\n".join(lines) + "\n")
  os.replace(tmp, path)


def checkpoint_numbers(directory: str) -> list[int]:
  """Ascending step numbers of every `ckpt-<n>` with any file present.

  The directory is scanned directly, so checkpoints the `checkpoint` state
  file does not list (or a missing state file) are still found.
  """
  if not os.path.isdir(directory):
    return []
  numbers = set()
  for name in os.listdir(directory):
    match = _NUMBERED.match(name)
    if match:
      numbers.add(int(match.group(1)))
  return sorted(numbers)


def unreadable_reason(prefix: str) -> str | None:
  """Why the checkpoint at `prefix` cannot be restored, or None if it can.

  Reads every tensor, so a truncated or corrupted data file (TF checks each
  tensor's CRC32C) is found, not only a missing index.
  """
  if not os.path.exists(prefix + ".index"):
    return "its .index file is missing"
  try:
    reader = tf.train.load_checkpoint(prefix)
    for key in reader.get_variable_to_dtype_map():
      reader.get_tensor(key)
  except (tf.errors.OpError, ValueError, IndexError, OSError) as e:
    return f"unreadable: {_first_line(e)[:120]}"
  return None


def newest_readable(directory: str
                    ) -> tuple[str | None, list[tuple[str, str]]]:
  """(newest readable checkpoint or None, [(skipped newer path, reason)])."""
  skipped = []
  for number in reversed(checkpoint_numbers(directory)):
    prefix = _prefix(directory, number)
    problem = unreadable_reason(prefix)
    if problem is None:
      return prefix, skipped
    skipped.append((prefix, problem))
  return None, skipped


def discard_unreadable(directory: str) -> list[str]:
  """Deletes every checkpoint that cannot be read; returns their paths."""
  removed = []
  for number in checkpoint_numbers(directory):
    prefix = _prefix(directory, number)
    if unreadable_reason(prefix) is not None:
      _remove_checkpoint(prefix)
      removed.append(prefix)
  return removed


def _remove_checkpoint(prefix: str) -> None:
  """Removes a checkpoint's files (index, data shards, temp directory)."""
  directory, base = os.path.split(prefix)
  if not os.path.isdir(directory):
    return
  for name in os.listdir(directory):
    if name == base + ".index" or name.startswith(base + ".data-"):
      os.remove(os.path.join(directory, name))
    elif name.startswith(base + "_temp"):
      shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


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


def check_compatible(path: str, objects: dict[str, Any], key: str = "model",
                     what: str = "model") -> None:
  """Raises CheckpointMismatchError naming what differs from the model.

  Compares the variables of `objects[key]` with those saved under `key/`
  in the checkpoint at `path`: shapes, missing and extra entries. An
  optimizer is compared only once built (its slots exist then).
  """
  module = objects.get(key)
  if module is None or not isinstance(module, tf.Module):
    return
  if key != "model" and not getattr(module, "built", True):
    return
  ours = variable_shapes(module, key)
  theirs = saved_shapes(path, key)
  problems = describe_mismatch(ours, theirs)
  if problems:
    raise CheckpointMismatchError(
        f"checkpoint {path} holds a different {what}: "
        f"{'; '.join(problems)}. Use another --model_dir, or the model the "
        "checkpoint was made with; nothing on disk was changed")


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
