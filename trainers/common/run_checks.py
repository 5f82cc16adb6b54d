"""Validation of a model_dir before a binary writes anything into it.

A refused run must change nothing, and a run must not find a broken file
after it spent its time (an evaluation whose result could not be stored).
So every binary checks, up front: the JSON files it will read or rewrite
(`config.json`, `metrics.json`, `history.json`) parse and have the right
shape, and a rerun of a trained run would not replace an inference
artifact (tokenizer vocabulary, class names) the checkpoint depends on.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Mapping

from engine.checkpoint import checkpoint_numbers
from trainers.common.cli import UsageError
from trainers.common.flags import POSITIVE_HPARAMS

# Hyper-parameters that name files: stored absolute in config.json.
PATH_HPARAMS = ("data_path", "validation_dir")


def _is_config(data: Any) -> bool:
  return (isinstance(data, dict) and isinstance(data.get("model"), str)
          and isinstance(data.get("hparams"), dict))


def _is_history(data: Any) -> bool:
  return (isinstance(data, dict) and isinstance(data.get("epoch", []), list)
          and isinstance(data.get("history", {}), dict))


# file name -> (shape check, what the shape should be)
RUN_FILES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "config.json": (_is_config, 'an object with "model" and "hparams"'),
    "metrics.json": (lambda d: isinstance(d, dict), "a JSON object"),
    "history.json": (_is_history, 'an object with "epoch" and "history"'),
}


def read_json_file(path: str) -> Any:
  """Parses `path`; a broken file is a UsageError naming it."""
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise UsageError(f"{path} is unreadable ({' '.join(str(e).split())}); "
                     "restore or delete it, or use another --model_dir "
                     "(nothing was changed)") from None


def check_run_files(model_dir: str) -> None:
  """Checks every run file present in model_dir parses with its shape.

  Raises:
    UsageError: one line naming the file and the shape it should have.
  """
  for name, (is_valid, shape) in RUN_FILES.items():
    path = os.path.join(model_dir, name)
    if not os.path.exists(path):
      continue
    if not is_valid(read_json_file(path)):
      raise UsageError(f"{path} has the wrong shape: expected {shape}; "
                       "restore or delete it, or use another --model_dir "
                       "(nothing was changed)")


def check_artifacts_unchanged(model_dir: str,
                              artifacts: Mapping[str, str]) -> None:
  """Refuses to replace an artifact a trained checkpoint depends on.

  A tokenizer built from other data numbers words differently, so the
  trained embedding would read the wrong rows; class names likewise.

  Raises:
    UsageError: model_dir has a checkpoint and an artifact would change.
  """
  if not checkpoint_numbers(model_dir):
    return
  for name, text in artifacts.items():
    path = os.path.join(model_dir, name)
    if not os.path.exists(path):
      continue
    with open(path, encoding="utf-8") as f:
      if not same_artifact(f.read(), text):
        raise UsageError(
            f"this data would replace {path}, which the trained checkpoint "
            f"in {model_dir} depends on (another --data_path, or a "
            "hyper-parameter that changes the data?); use the run's own "
            "settings, or another --model_dir (nothing was changed)")


def check_vocabulary_unchanged(model_dir: str,
                               hparams: Mapping[str, Any]) -> None:
  """Refuses a rerun of a trained subword run that would learn another
  vocabulary (another --data_path, vocab_size, split or HTML stripping):
  the trained embedding rows belong to the saved one.

  Raises:
    UsageError: model_dir has a checkpoint and the settings differ.
  """
  if not checkpoint_numbers(model_dir):
    return
  from data.text import datasets
  changed = datasets.changed_vocabulary_settings(hparams, model_dir)
  if changed:
    from data.text.subword_pipeline import VOCAB_FILE
    raise UsageError(
        f"this run would learn another subword vocabulary than "
        f"{os.path.join(model_dir, VOCAB_FILE)}, which the trained "
        f"checkpoint depends on: its settings differ "
        f"({'; '.join(changed)}); use the run's own settings, or another "
        "--model_dir (nothing was changed)")


def hparams_changed_since(model_dir: str, hparams: Mapping[str, Any]
                          ) -> list[str]:
  """`key=stored (now new)` for each hyper-parameter this run gives
  another value than the run stored in model_dir's config.json (`epochs`
  and paths aside: those change between runs of one model)."""
  path = os.path.join(model_dir, "config.json")
  if not os.path.exists(path):
    return []
  stored = read_json_file(path).get("hparams", {})
  return [f"{key}={stored[key]!r} (now {hparams[key]!r})"
          for key in sorted(set(stored) & set(hparams))
          if key != "epochs" and key not in PATH_HPARAMS
          and stored[key] != hparams[key]]


def _normalised(value: Any) -> Any:
  """JSON with JSON-in-strings parsed too (Keras's tokenizer nests it)."""
  if isinstance(value, str) and value[:1] in ("{", "["):
    try:
      return _normalised(json.loads(value))
    except json.JSONDecodeError:
      return value
  if isinstance(value, dict):
    return {k: _normalised(v) for k, v in value.items()}
  if isinstance(value, list):
    return [_normalised(v) for v in value]
  return value


def same_artifact(old: str, new: str) -> bool:
  """Equal texts, or JSON equal up to key order (set-ordered counts)."""
  if old == new:
    return True
  try:
    return _normalised(json.loads(old)) == _normalised(json.loads(new))
  except json.JSONDecodeError:
    return False


def absolute_paths(hparams: dict) -> dict:
  """hparams with file paths made absolute (`~` expanded)."""
  for key in PATH_HPARAMS:
    value = hparams.get(key)
    if isinstance(value, str) and value:
      hparams[key] = os.path.abspath(os.path.expanduser(value))
  return hparams


def check_hparam_values(hparams: Mapping[str, Any]) -> None:
  """Positive-only hyper-parameters must be finite and > 0.

  Raises:
    UsageError: naming the hyper-parameter and the value given.
  """
  for key in POSITIVE_HPARAMS:
    value = hparams.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      continue
    if not math.isfinite(value) or value <= 0:
      raise UsageError(f"hyper-parameter {key} must be a positive finite "
                       f"number, got {value}")
