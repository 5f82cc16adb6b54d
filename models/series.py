"""The course's forecasting models ("Sequences, Time Series and Prediction").

Three registered recipes, each fed by `data.timeseries.series_bundle`:

* `series_dnn`: a dense network on windows of 20 values (week 2);
* `series_rnn`: two bidirectional LSTMs on the same windows (week 3);
* `series_conv_lstm`: causal Conv1D, two LSTMs and a dense head that forecast
  every step of a 60-step window (week 4, the Sunspots model).

Each reads a synthetic series by default; `data_path` (with `value_column`
and `split_time`) trains on a CSV series such as Sunspots.csv instead.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

from data.timeseries import series_bundle
from engine.modules.basic import ExpandDims, Scale
from engine.modules.conv import Conv1D
from engine.modules.dense import Dense
from engine.modules.recurrent import LSTM
from engine.modules.sequential import Sequential
from engine.modules.wrappers import Bidirectional
from models.registry import Recipe, register


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
