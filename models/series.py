"""The course's forecasting models ("Sequences, Time Series and Prediction").

Three registered recipes, each fed by `data.series.pipeline.series_bundle`:

* `series_dnn`: a dense network on windows of 20 values (week 2);
* `series_rnn`: two bidirectional LSTMs on the same windows (week 3);
* `series_conv_lstm`: causal Conv1D, two LSTMs and a dense head that forecast
  every step of a 60-step window (week 4, the Sunspots model).

Each reads a synthetic series by default; `data_path` (with `value_column`
and `split_time`) trains on a CSV series such as Sunspots.csv instead.

It also holds the course's statistical baselines, the yardstick for the
trained models (every forecast aligned with the validation split: element i
forecasts `series[split_time + i]` from values before it only), and
`model_forecast`, a trained model's one-step forecasts of that split:

  scores = evaluate_baselines(series, split_time=1000)
  scores["naive"]["mae"]  # about 5.94 on the course's week-1 series

`SeriesServing` is the exported form (trainers.export): windows or a whole
series in, forecasts out.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from data.errors import DataError
from data.series.pipeline import series_bundle
from data.series.windows import forecast_windows
from engine.modules.basic import ExpandDims, Scale
from engine.modules.conv import Conv1D
from engine.modules.dense import Dense
from engine.modules.recurrent import LSTM
from engine.modules.sequential import Sequential
from engine.modules.wrappers import Bidirectional
from models.registry import Recipe, register

MOVING_AVERAGE_WINDOW = 30
SEASON_LAG = 365
DIFF_AVERAGE_WINDOW = 50
PAST_SMOOTHING_WINDOW = 10


def _series_hparams(**overrides: Any) -> dict[str, Any]:
  """The hyper-parameters every series recipe has, with its own values."""
  hparams = {
      "shuffle_buffer": 1000,
      "seed": 42,
      "data_path": None,
      "value_column": "-1",  # a name or an index (flags give strings)
      "split_time": None,
      "preset": "week1",
  }
  hparams.update(overrides)
  return hparams


def build_series_dnn(hparams: Mapping[str, Any]) -> Sequential:
  """Dense 100 relu -> Dense 10 relu -> Dense 1 on [batch, window] input."""
  del hparams  # The input size comes from the first batch.
  return Sequential([
      Dense(100, activation="relu"),
      Dense(10, activation="relu"),
      Dense(1),
  ], name="series_dnn")


def build_series_rnn(hparams: Mapping[str, Any]) -> Sequential:
  """Two bidirectional LSTM(32) layers on [batch, window] input.

  The windows are expanded to [batch, window, 1] first, and the output is
  multiplied by 100, the scale of the series, so the LSTM's tanh-bounded
  output need not learn it.
  """
  del hparams
  return Sequential([
      ExpandDims(-1),
      Bidirectional(LSTM(32, return_sequences=True)),
      Bidirectional(LSTM(32)),
      Dense(1),
      Scale(100.0),
  ], name="series_rnn")


def build_series_conv_lstm(hparams: Mapping[str, Any]) -> Sequential:
  """Causal Conv1D 60 -> LSTM 60 x2 -> Dense 30, 10, 1 -> x400, per step.

  Input [batch, window, 1]; output [batch, window, 1], one forecast per step
  (the Sunspots values reach about 400).
  """
  del hparams
  return Sequential([
      Conv1D(60, kernel_size=5, strides=1, padding="causal",
             activation="relu"),
      LSTM(60, return_sequences=True),
      LSTM(60, return_sequences=True),
      Dense(30, activation="relu"),
      Dense(10, activation="relu"),
      Dense(1),
      Scale(400.0),
  ], name="series_conv_lstm")


def _window_input(hparams: Mapping[str, Any]) -> tuple:
  """[window_size] float windows (the exporter needs no data)."""
  return (int(hparams["window_size"]),), "float32"


def _window_steps_input(hparams: Mapping[str, Any]) -> tuple:
  """[window_size, 1]: a sequence-to-sequence model's windows."""
  return (int(hparams["window_size"]), 1), "float32"


# --- forecasts ---------------------------------------------------------------


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


# --- baselines ---------------------------------------------------------------


def mse(actual, forecast) -> float:
  """Mean squared error of two equally long sequences."""
  actual, forecast = _pair(actual, forecast)
  return float(np.mean(np.square(actual - forecast)))


def mae(actual, forecast) -> float:
  """Mean absolute error of two equally long sequences."""
  actual, forecast = _pair(actual, forecast)
  return float(np.mean(np.abs(actual - forecast)))


def moving_average_forecast(series, window_size: int) -> np.ndarray:
  """The mean of each `window_size` values, as a forecast of the next one.

  Element t is `mean(series[t:t + window_size])`, the forecast for step
  t + window_size; there are len(series) - window_size of them, as in the
  course's loop.
  """
  values = np.asarray(series, dtype=np.float64)
  if not 1 <= window_size < len(values):
    raise DataError(f"moving average: window_size must be in [1, "
                    f"{len(values) - 1}] for a series of {len(values)} "
                    f"values, got {window_size}")
  sums = np.cumsum(np.concatenate([[0.0], values]))
  return (sums[window_size:-1] - sums[:-window_size - 1]) / window_size


def naive_forecast(series, split_time: int) -> np.ndarray:
  """Each validation step forecast as the value just before it."""
  values = _checked(series, split_time, history=1)
  return values[split_time - 1:-1]


def moving_average_baseline(series, split_time: int,
                            window_size: int = MOVING_AVERAGE_WINDOW):
  """Each validation step forecast as the mean of the window before it."""
  _checked(series, split_time, history=window_size)
  return moving_average_forecast(series, window_size)[split_time - window_size:]


def differenced_forecast(series, split_time: int, lag: int = SEASON_LAG,
                         window_size: int = DIFF_AVERAGE_WINDOW,
                         smoothing_window: int = 0) -> np.ndarray:
  """Moving average of the seasonal difference, plus the past season.

  The series minus itself `lag` steps earlier removes trend and seasonality;
  its moving average forecasts the difference, and the value one season back
  is added again. With `smoothing_window` k > 0 that past value is itself a
  k-step mean centered one season back (the course's
  `moving_average_forecast(series[split_time - 370:-360], 10)`), which
  removes most of its noise.

  Args:
    series: the whole series.
    split_time: index of the first validation step.
    lag: the season length.
    window_size: moving-average window over the differenced series.
    smoothing_window: window of the centered mean of the past (0: none);
      must be even.

  Returns:
    len(series) - split_time forecasts.

  Raises:
    DataError: the training part is too short for lag and windows.
  """
  half = smoothing_window // 2
  if smoothing_window % 2:
    raise DataError(f"smoothing_window must be even (the mean is centered "
                    f"one season back), got {smoothing_window}")
  values = _checked(series, split_time,
                    history=lag + max(window_size, half))
  diff = values[lag:] - values[:-lag]
  diff_average = moving_average_forecast(
      diff, window_size)[split_time - lag - window_size:]
  if smoothing_window:
    past = moving_average_forecast(
        values[split_time - lag - half:len(values) - lag + half],
        smoothing_window)
  else:
    past = values[split_time - lag:-lag]
  return past + diff_average


def baseline_forecasts(series, split_time: int) -> dict[str, np.ndarray]:
  """The course's four forecasts of the validation split, by name."""
  return {
      "naive": naive_forecast(series, split_time),
      "moving_average": moving_average_baseline(series, split_time),
      "diff_moving_average": differenced_forecast(series, split_time),
      "diff_moving_average_smoothed_past": differenced_forecast(
          series, split_time, smoothing_window=PAST_SMOOTHING_WINDOW),
  }


def _baseline_functions() -> dict:
  return {
      "naive": naive_forecast,
      "moving_average": moving_average_baseline,
      "diff_moving_average": differenced_forecast,
      "diff_moving_average_smoothed_past": lambda series, split_time:
          differenced_forecast(series, split_time,
                               smoothing_window=PAST_SMOOTHING_WINDOW),
  }


def evaluate_applicable_baselines(series, split_time: int
                                  ) -> tuple[dict[str, dict[str, float]],
                                             dict[str, str]]:
  """Like evaluate_baselines, but skips baselines the split cannot feed.

  Returns:
    (name -> {"mae", "mse"}, name -> why it was skipped). A short series
    (less than a season before the split) keeps the naive and moving
    average baselines and names why the seasonal ones were left out.
  """
  actual = np.asarray(series, dtype=np.float64)[split_time:]
  scores, skipped = {}, {}
  for name, forecast_fn in _baseline_functions().items():
    try:
      forecast = forecast_fn(series, split_time)
    except DataError as e:
      skipped[name] = str(e)
      continue
    scores[name] = {"mae": mae(actual, forecast), "mse": mse(actual, forecast)}
  return scores, skipped


def evaluate_baselines(series, split_time: int) -> dict[str, dict[str, float]]:
  """MAE and MSE of each course baseline on the validation split.

  Args:
    series: the whole series (training then validation values).
    split_time: index of the first validation step; it needs at least
      lag + diff window = 415 training steps.

  Returns:
    name -> {"mae": ..., "mse": ...} for "naive", "moving_average",
    "diff_moving_average" and "diff_moving_average_smoothed_past".

  Raises:
    DataError: the split leaves too little history for a baseline.
  """
  actual = np.asarray(series, dtype=np.float64)[split_time:]
  return {name: {"mae": mae(actual, forecast), "mse": mse(actual, forecast)}
          for name, forecast in baseline_forecasts(series, split_time).items()}


def _checked(series, split_time: int, history: int) -> np.ndarray:
  """The series as float64, after checking the split leaves `history`."""
  values = np.asarray(series, dtype=np.float64)
  if values.ndim != 1:
    raise DataError(f"expected a 1-D series, got shape {values.shape}")
  if not history <= split_time < len(values):
    raise DataError(
        f"split_time {split_time} must be in [{history}, {len(values) - 1}]: "
        f"this baseline needs {history} steps before the split and at least "
        f"one after it (series of {len(values)} values)")
  return values


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
  """Both sequences as float64 arrays; DataError if their lengths differ."""
  actual = np.asarray(actual, dtype=np.float64)
  forecast = np.asarray(forecast, dtype=np.float64)
  if actual.shape != forecast.shape:
    raise DataError(f"cannot compare shapes {actual.shape} and "
                    f"{forecast.shape}; align the forecast with the series")
  return actual, forecast


# --- recipes -----------------------------------------------------------------


SERIES_DNN = register(Recipe(
    name="series_dnn",
    description="DNN (100-10-1) forecasting the next value of a 20-step "
                "window (course week 2)",
    build_model=build_series_dnn,
    make_data=series_bundle,
    loss="mse",
    metrics=("mae",),
    optimizer="sgd",
    optimizer_kwargs={"momentum": 0.9},
    hparams=_series_hparams(learning_rate=1e-6, batch_size=32, epochs=100,
                            window_size=20, preset="week2"),
    input_shape=_window_input,
))

SERIES_RNN = register(Recipe(
    name="series_rnn",
    description="two bidirectional LSTM(32) layers forecasting the next "
                "value of a 20-step window (course week 3)",
    build_model=build_series_rnn,
    make_data=series_bundle,
    loss="huber",
    metrics=("mae",),
    optimizer="sgd",
    optimizer_kwargs={"momentum": 0.9},
    hparams=_series_hparams(learning_rate=1e-5, batch_size=32, epochs=100,
                            window_size=20),
    input_shape=_window_input,
))

SERIES_CONV_LSTM = register(Recipe(
    name="series_conv_lstm",
    description="causal Conv1D + two LSTM(60) layers forecasting every step "
                "of a 60-step window (course week 4, Sunspots)",
    build_model=build_series_conv_lstm,
    make_data=functools.partial(series_bundle, seq2seq=True),
    loss="huber",
    metrics=("mae",),
    optimizer="sgd",
    optimizer_kwargs={"momentum": 0.9},
    hparams=_series_hparams(learning_rate=1e-5, batch_size=100, epochs=100,
                            window_size=60),
    input_shape=_window_steps_input,
))


# == Serving (trainers.export): windows or a whole series in, forecasts out ==


class SeriesServing(tf.Module):
  """Windows -> next value; a whole series -> one forecast per window.

  Args:
    model: the trained forecaster; its input is [N, window] or, for a
      sequence-to-sequence model, [N, window, 1].
    window_size: steps per window.
    seq2seq: the model takes [N, window, 1] and forecasts every step (the
      last step's forecast is the next value).
  """

  def __init__(self, model, window_size: int, seq2seq: bool):
    super().__init__(name="series_forecaster")
    self.model = model
    self.window_size, self.seq2seq = int(window_size), bool(seq2seq)
    window = tf.TensorSpec([None, self.window_size], tf.float32,
                           name="windows")
    self.predict_windows = tf.function(
        lambda windows: {"next_value": self._next_value(windows)},
        input_signature=[window])
    self.forecast = tf.function(self._forecast, input_signature=[
        tf.TensorSpec([None], tf.float32, name="series")])
    self.model_input = tf.function(self._next_value, input_signature=[window])

  def _next_value(self, windows: tf.Tensor) -> tf.Tensor:
    inputs = windows[..., tf.newaxis] if self.seq2seq else windows
    outputs = self.model(inputs, training=False)
    if self.seq2seq:
      return outputs[:, -1, 0]
    return tf.reshape(outputs, [tf.shape(outputs)[0], -1])[:, 0]

  def _forecast(self, series):
    windows = tf.signal.frame(series, self.window_size, 1)
    return {"forecasts": self._next_value(windows)}

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.predict_windows.get_concrete_function(),
            "forecast": self.forecast.get_concrete_function()}
