r"""Forecasts the validation split: `python -m trainers.forecast --model_dir=D`.

The course's `model_forecast`: every window of the series ending just before
a validation step is fed to the model; the prediction for step t comes from
the `window_size` values before t. Prints one line per method (the model and
the naive / moving-average / differencing baselines) with its MAE and MSE,
logs the actual and the forecast series to TensorBoard (`forecast/actual`
and `forecast/model` runs, same tag, so one chart overlays them) and stores
the scores under "forecast" in metrics.json.
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_integer("batch_size", 256, "Windows per inference batch.")
FLAGS = flags.FLAGS


def log_series(model_dir: str, actual: np.ndarray, forecast: np.ndarray,
               split_time: int) -> str:
  """Writes both series under one tag in two runs, so TensorBoard overlays."""
  import tensorflow as tf
  from engine.summaries import SummaryWriters
  logdir = os.path.join(model_dir, "forecast")
  writers = SummaryWriters(logdir)
  for run, values in (("actual", actual), ("model", forecast)):
    with writers.writer(run).as_default():
      for offset, value in enumerate(values):
        tf.summary.scalar("validation_series", float(value),
                          step=split_time + offset)
  writers.close()
  return logdir


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from data.series import pipeline
  from models import series as series_models
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  info = pipeline.read_series_info(FLAGS.model_dir)
  if info is None:
    raise cli.UsageError(f"model {recipe.name!r} in {FLAGS.model_dir} is not "
                         "a time-series run (no series.json); use "
                         "trainers.evaluate")
  series, split_time = info.series, info.split_time
  trainer = session.restored_trainer(
      recipe, hparams, FLAGS.model_dir,
      session.input_spec(recipe, hparams, FLAGS.model_dir))
  forecast = series_models.model_forecast(
      trainer, series, split_time, info.window_size, info.seq2seq,
      FLAGS.batch_size)
  actual = series[split_time:]
  scores = {recipe.name: {"mae": series_models.mae(actual, forecast),
                          "mse": series_models.mse(actual, forecast)}}
  baseline_scores, skipped = series_models.evaluate_applicable_baselines(
      series, split_time)
  scores.update(baseline_scores)
  width = max(map(len, [*scores, *skipped]))
  for name, score in scores.items():
    print(f"{name:<{width}}  MAE {score['mae']:8.4f}  MSE {score['mse']:10.4f}")
  for name, reason in skipped.items():
    print(f"{name:<{width}}  skipped: {reason}")
  logdir = log_series(FLAGS.model_dir, actual, forecast, split_time)
  session.update_metrics_file(FLAGS.model_dir, "forecast", scores)
  print(f"actual and forecast series logged to {logdir} "
        f"(tensorboard --logdir {FLAGS.model_dir})")


if __name__ == "__main__":
  cli.run(main)
