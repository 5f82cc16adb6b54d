"""A run's hyper-parameters and final metrics for TensorBoard's HParams tab.

Each run directory (a `--model_dir`) gets the HParams plugin's session
summary (`tensorboard.plugins.hparams.api.hparams`) and its final metrics as
scalars under `final/`, both in the run directory itself; TensorBoard, pointed
at the parent of several run directories, lists one row per run:

    python -m trainers.train --model=series_dnn --model_dir=runs/sweep/lr1 \
        --learning_rate=1e-6
    python -m trainers.train --model=series_dnn --model_dir=runs/sweep/lr2 \
        --learning_rate=3e-6
    tensorboard --logdir=runs/sweep        # HParams tab: lr vs final/val_loss

The train/ and eval/ scalars of a run show up too, as metrics of the groups
`train` and `eval`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp_api

FINAL_PREFIX = "final/"


def loggable(hparams: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
  """The hyper-parameters the HParams API can hold (bool, number, str).

  None becomes the string "None", so a default is still visible; lists and
  other values are written with `str`.
  """
  result = {}
  for key, value in hparams.items():
    if isinstance(value, (bool, int, float, str)):
      result[key] = value
    else:
      result[key] = str(value)
  return result


def write_hparams(run_dir: str, hparams: Mapping[str, Any]) -> None:
  """Records the run's hyper-parameters (a session start) in `run_dir`.

  The trial id is the run directory's absolute path, so a resumed run keeps
  its row.
  """
  writer = tf.summary.create_file_writer(run_dir)
  with writer.as_default():
    hp_api.hparams(loggable(hparams), trial_id=os.path.abspath(run_dir))
  writer.close()


def write_final_metrics(run_dir: str, metrics: Mapping[str, float],
                        step: int) -> None:
  """Writes each finite final metric as the scalar `final/NAME` at `step`."""
  writer = tf.summary.create_file_writer(run_dir)
  with writer.as_default(step=step):
    for name, value in metrics.items():
      if isinstance(value, (int, float)) and not isinstance(value, bool):
        tf.summary.scalar(FINAL_PREFIX + name, float(value))
  writer.close()
