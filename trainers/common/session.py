"""What every binary does around the engine: hparams, model_dir, seeds.

`model_dir/config.json` records the model name and its hyper-parameters, so
evaluate/forecast/predict need only `--model_dir`, and a run into a
model_dir that belongs to another model is refused before anything is
written.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from engine import mixed_precision
from engine import optimizers
from engine.checkpoint import checkpoint_numbers, newest_readable
from engine.optimizers.loss_scale import DynamicLossScale
from engine.trainer import Trainer
from models import registry
from trainers.common import run_checks
from trainers.common.cli import UsageError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
INPUT_SPEC_FILE = "input_spec.json"


def resolve_hparams(recipe: registry.Recipe, overrides: Mapping[str, Any]
                    ) -> dict:
  """The recipe's defaults with the user's overrides, typed like them.

  Raises:
    UsageError: an override names a hyper-parameter the model lacks, or
      has a value that does not convert to the default's type.
  """
  hparams = dict(recipe.hparams)
  for key, value in overrides.items():
    if key not in hparams:
      raise UsageError(
          f"model {recipe.name!r} has no hyper-parameter {key!r}; it has: "
          f"{', '.join(sorted(hparams))}")
    hparams[key] = _convert(key, value, hparams[key])
  return hparams


def _convert(key: str, value: Any, default: Any) -> Any:
  if default is None or not isinstance(value, str) or isinstance(default, str):
    return value
  try:
    if isinstance(default, bool):
      if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(value)
      return value.lower() in ("true", "1")
    return type(default)(value)
  except ValueError:
    raise UsageError(f"hyper-parameter {key}={value!r} should be a "
                     f"{type(default).__name__}") from None


def recipe_and_hparams(model_name: str, overrides: Mapping[str, Any],
                       seed: int, deterministic: bool = False):
  """(recipe, hparams) for a run from flags; seeds everything first.

  Raises:
    UnknownModelError, UsageError: a bad model name or override.
  """
  recipe = registry.get(model_name)
  hparams = run_checks.absolute_paths(resolve_hparams(recipe, overrides))
  run_checks.check_hparam_values(hparams)
  hparams["seed"] = seed
  set_seeds(seed, deterministic)
  return recipe, hparams


def set_seeds(seed: int, deterministic: bool = False) -> None:
  """Seeds Python, NumPy and TF; optionally turns on op determinism."""
  random.seed(seed)
  np.random.seed(seed)
  tf.random.set_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()


def read_config(model_dir: str) -> dict | None:
  """The run config stored in model_dir, or None if there is none."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  return run_checks.read_json_file(path)


def check_model_dir(model_dir: str, model_name: str) -> None:
  """Refuses a model_dir that is a file, holds broken run files or a run
  of another model."""
  if os.path.exists(model_dir) and not os.path.isdir(model_dir):
    raise UsageError(f"--model_dir {model_dir} is a file, not a directory; "
                     "name a directory (new or of an earlier run)")
  run_checks.check_run_files(model_dir)
  config = read_config(model_dir)
  if config is not None and config.get("model") != model_name:
    raise UsageError(
        f"--model_dir {model_dir} holds a checkpoint of model "
        f"{config.get('model')!r}, not {model_name!r}; use another "
        "--model_dir (nothing was changed)")


def absolute_paths(hparams: Mapping) -> dict:
  """A copy whose `*_path` / `*_dir` strings are absolute, `~` expanded,
  so a later binary started elsewhere finds the same files."""
  result = dict(hparams)
  for key, value in hparams.items():
    if key.endswith(("_path", "_dir")) and isinstance(value, str) and value:
      result[key] = os.path.abspath(os.path.expanduser(value))
  return result


def write_config(model_dir: str, model_name: str, hparams: Mapping) -> None:
  """Writes config.json (atomically), paths made absolute."""
  os.makedirs(model_dir, exist_ok=True)
  _write_json(os.path.join(model_dir, CONFIG_FILE),
              {"model": model_name, "hparams": absolute_paths(hparams)})


def write_input_spec(model_dir: str, element_spec) -> None:
  """Stores the features' spec of one batch (input_spec.json), so a
  restored model is built without reading any data."""
  features = element_spec[0]
  _write_json(os.path.join(model_dir, INPUT_SPEC_FILE),
              {"shape": features.shape.as_list()[1:],
               "dtype": features.dtype.name})


def read_input_spec(model_dir: str):
  """The (features, None) spec saved by `write_input_spec`, or None."""
  path = os.path.join(model_dir, INPUT_SPEC_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    saved = json.load(f)
  return (tf.TensorSpec([None, *saved["shape"]], tf.as_dtype(saved["dtype"])),
          None)


def write_artifacts(model_dir: str, artifacts: Mapping[str, str]) -> None:
  """Stores inference files (e.g. a tokenizer vocabulary) in model_dir."""
  for name, text in artifacts.items():
    path = os.path.join(model_dir, name)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(text)
    os.replace(tmp, path)


def update_metrics_file(model_dir: str, section: str, value: Any) -> str:
  """Sets `section` in model_dir/metrics.json, keeping other sections."""
  path = os.path.join(model_dir, METRICS_FILE)
  data = {}
  if os.path.exists(path):
    data = run_checks.read_json_file(path)
  data[section] = value
  _write_json(path, data)
  return path


def _write_json(path: str, data: Any) -> None:
  tmp = f"{path}.{os.getpid()}.tmp"  # unique: workers may write at once
  with open(tmp, "w") as f:
    json.dump(data, f, indent=1, default=_jsonable)
  os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def make_optimizer(recipe: registry.Recipe, hparams: Mapping,
                   name: str | None = None):
  """The recipe's optimizer (or `name`) at hparams' learning rate."""
  kwargs = dict(recipe.optimizer_kwargs) if name in (None,
                                                     recipe.optimizer) else {}
  return optimizers.get(name or recipe.optimizer,
                        learning_rate=hparams["learning_rate"], **kwargs)


def make_trainer(recipe: registry.Recipe, hparams: Mapping,
                 strategy: tf.distribute.Strategy,
                 model_dir: str | None, optimizer_name: str | None = None,
                 data_info=None, **trainer_kwargs) -> Trainer:
  """Model, optimizer, metrics and Trainer, created in the strategy scope.

  With `data_info` (training), the recipe's `initialize` runs on the new
  model; a checkpoint restored later replaces what it set.
  `hparams["mixed_precision"]` (set by --mixed_precision) picks the dtype
  policy the model is built under; mixed_float16 adds a loss scale.
  """
  policy = mixed_precision.Policy(hparams.get("mixed_precision") or "float32")
  with strategy.scope(), mixed_precision.policy_scope(policy):
    model = recipe.build_model(hparams)
    if recipe.initialize is not None and data_info is not None:
      recipe.initialize(model, data_info)
    optimizer = make_optimizer(recipe, hparams, optimizer_name)
    for module, factor in getattr(model, "learning_rate_multipliers",
                                  list)():
      optimizer.scale_learning_rate(module, factor)
    loss_scale = (DynamicLossScale() if policy.needs_loss_scale else None)
    trainer_kwargs.setdefault("seed", int(hparams.get("seed") or 0))
    return Trainer(model, registry.loss_name(recipe, hparams), optimizer,
                   list(recipe.metrics), loss_scale=loss_scale,
                   strategy=strategy, model_dir=model_dir, **trainer_kwargs)


def data_hparams(hparams: Mapping[str, Any], model_dir: str) -> dict:
  """The hparams make_data gets for a run into model_dir.

  A run that will restore a checkpoint reuses the subword vocabulary saved
  there, and does not look for a pretrained base's weights file: the
  checkpoint holds those weights, so resuming works offline.
  """
  from data.text.datasets import with_saved_vocabulary
  result = with_saved_vocabulary(hparams, model_dir)
  if result.get("pretrained") and newest_readable(model_dir)[0]:
    result["pretrained"] = False
  return result


def load_run(model_dir: str):
  """(recipe, hparams) of the run stored in model_dir.

  Raises:
    UsageError: model_dir has no run (no config.json or no checkpoint).
  """
  if not os.path.isdir(model_dir):
    raise UsageError(f"--model_dir {model_dir} does not exist; train first "
                     "with trainers.train --model_dir=" + model_dir)
  run_checks.check_run_files(model_dir)
  config = read_config(model_dir)
  if config is None:
    raise UsageError(f"--model_dir {model_dir} has no {CONFIG_FILE}; it was "
                     "not written by trainers.train")
  if not checkpoint_numbers(model_dir):
    raise UsageError(f"--model_dir {model_dir} holds no checkpoint yet; "
                     "train first")
  recipe = registry.get(config["model"])
  hparams = dict(recipe.hparams)
  hparams.update(config["hparams"])
  return recipe, hparams


def restored_trainer(recipe: registry.Recipe, hparams: Mapping,
                     model_dir: str, element_spec,
                     strategy: tf.distribute.Strategy | None = None
                     ) -> Trainer:
  """A Trainer for a stored run, built from `element_spec` and restored."""
  strategy = strategy or tf.distribute.get_strategy()
  trainer = make_trainer(recipe, hparams, strategy, model_dir,
                         print_fn=None)
  trainer.build(element_spec)
  trainer.restore()
  return trainer


def input_spec(recipe: registry.Recipe, hparams: Mapping,
               model_dir: str | None = None):
  """One batch's (features, labels) spec without reading data if possible:
  the spec saved in model_dir at training, else the recipe's input_shape."""
  saved = read_input_spec(model_dir) if model_dir else None
  if saved is not None:
    return saved
  if recipe.input_shape is not None:
    shape, dtype = recipe.input_shape(hparams)
    return (tf.TensorSpec([None, *shape], dtype), None)
  return recipe.make_data(hparams).element_spec
