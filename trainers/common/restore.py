"""Restoring a trained text run from model_dir alone (no training data)."""

from __future__ import annotations

import dataclasses
from typing import Any

from trainers.common.cli import UsageError


@dataclasses.dataclass
class TextRun:
  """A restored text run.

  Attributes:
    recipe: the run's `models.registry.Recipe`.
    hparams: the run's hyper-parameters (config.json over the defaults).
    encoder: `data.text.pipelines.InferenceEncoder` from the saved tokenizer.
    trainer: the trainer holding the restored model.
  """

  recipe: Any
  hparams: dict
  encoder: Any
  trainer: Any


def restore_text_run(model_dir: str, binary: str, wanted: str) -> TextRun:
  """Restores the newest checkpoint of the text run in model_dir.

  Args:
    model_dir: the run's directory.
    binary: the calling binary, for messages (e.g. "trainers.generate").
    wanted: what the binary serves, for messages (e.g. "a text model").

  Raises:
    UsageError: no trained run, or a run without a saved tokenizer.
  """
  import tensorflow as tf
  from data.text import pipelines
  from trainers.common import session
  recipe, hparams = session.load_run(model_dir)
  try:
    encoder = pipelines.load_inference_encoder(model_dir)
  except FileNotFoundError:
    raise UsageError(
        f"--model_dir {model_dir} holds model {recipe.name!r}, which has no "
        f"saved tokenizer; {binary} needs {wanted} run") from None
  spec = (tf.TensorSpec([None, encoder.max_length], tf.int32), None)
  trainer = session.restored_trainer(recipe, hparams, model_dir, spec)
  return TextRun(recipe, hparams, encoder, trainer)
