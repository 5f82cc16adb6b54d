"""The course's `model_forecast`: one-step forecasts of a validation split."""

from __future__ import annotations

import numpy as np

from data.windows import forecast_windows


def model_forecast(trainer, series: np.ndarray, split_time: int,
                   window_size: int, seq2seq: bool,
                   batch_size: int = 256) -> np.ndarray:
  """The model's one-step forecasts aligned with series[split_time:].

  Every window of `window_size` values ending just before a validation step
  is fed to the model; a sequence-to-sequence model's last step is taken.

  Args:
    trainer: an engine Trainer holding the (restored) model.
    series: the whole series.
    split_time: index of the first validation step.
    window_size: the model's window.
    seq2seq: whether the model returns a forecast per window step.
    batch_size: windows per inference batch.

  Returns:
    float array of len(series) - split_time forecasts.
  """
  inputs = series[split_time - window_size:-1]
  windows = forecast_windows(inputs, window_size, batch_size, seq2seq=seq2seq)
  predictions = trainer.predict(windows)
  if seq2seq:
    return predictions[:, -1, 0]
  return predictions.reshape(len(predictions), -1)[:, 0]
