"""Time-series input for the course's forecasting models.

The entry point of the series data: the generator (`data.series.synthetic`),
the CSV reader (`data.series.csv_reader`) and the windowing
(`data.series.windows`) are re-exported here, next to the train/validation split and `series_bundle`,
which turns hyper-parameters into the `DataBundle` the trainers consume:

  bundle = series_bundle({"window_size": 20, "batch_size": 32, "seed": 42})
  for features, labels in bundle.train(epoch=0): ...
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from data.bundle import (DataBundle, DataInfo, EpochData,
                         stateless_epoch_order)
from data.errors import DataError
from data.series.csv_reader import read_series_csv
from data.series.synthetic import (PRESETS, noise, seasonal_pattern,
                                   seasonality, synthetic_series, trend)
from data.series.windows import (batch_pairs, forecast_windows,
                                  num_windows, steps_per_epoch, window_pairs,
                                  windowed_dataset)

__all__ = [
    "PRESETS", "epoch_seed", "forecast_windows", "load_series", "noise",
    "num_windows", "read_series_csv", "seasonal_pattern", "seasonality",
    "series_bundle", "split_series", "steps_per_epoch", "synthetic_series",
    "trend", "windowed_dataset",
]

DEFAULT_PRESET = "week1"
DEFAULT_TRAIN_FRACTION = 0.8
SERIES_FILE = "series.json"


@dataclasses.dataclass
class SeriesInfo(DataInfo):
  """What a series bundle says about its data; forecasting needs it all.

  Attributes:
    time: the time steps of the whole series.
    series: the whole series (training then validation values).
    split_time: index of the first validation value.
    window_size: values per model input window.
    seq2seq: whether the model is labelled at every window step.
  """

  time: np.ndarray | None = None
  series: np.ndarray | None = None
  split_time: int = 0
  window_size: int = 0
  seq2seq: bool = False

  def to_json(self) -> str:
    """The series.json artifact: what forecasting needs, without data."""
    return json.dumps({"time": np.asarray(self.time).tolist(),
                       "series": np.asarray(self.series).tolist(),
                       "split_time": int(self.split_time),
                       "window_size": int(self.window_size),
                       "seq2seq": bool(self.seq2seq)})


def read_series_info(model_dir: str) -> SeriesInfo | None:
  """The `SeriesInfo` a series run stored in model_dir, or None.

  Raises:
    DataError: the file exists but is not what training wrote.
  """
  path = os.path.join(model_dir, SERIES_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding="utf-8") as stream:
      saved = json.load(stream)
    return SeriesInfo(time=np.asarray(saved["time"]),
                      series=np.asarray(saved["series"], np.float32),
                      split_time=int(saved["split_time"]),
                      window_size=int(saved["window_size"]),
                      seq2seq=bool(saved["seq2seq"]))
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise DataError(f"{path} is unreadable ({error}); train again to "
                    f"rewrite it") from error


def split_series(time: np.ndarray, series: np.ndarray, split_time: int):
  """The course's fixed partition at `split_time`.

  Args:
    time: time steps (or dates), same length as series.
    series: the values.
    split_time: index of the first validation step.

  Returns:
    (time_train, series_train, time_valid, series_valid).

  Raises:
    DataError: split_time is not strictly inside the series, or time and
      series differ in length.
  """
  if len(time) != len(series):
    raise DataError(f"time has {len(time)} steps but series has "
                    f"{len(series)} values; they must have the same length")
  if isinstance(split_time, bool) or not isinstance(
      split_time, (int, np.integer)) or not 0 < split_time < len(series):
    raise DataError(
        f"split_time must be an integer with 0 < split_time < {len(series)} "
        f"(the series length), got {split_time!r}")
  return (time[:split_time], series[:split_time], time[split_time:],
          series[split_time:])


def load_series(hparams: Mapping[str, Any]) -> tuple[np.ndarray,
                                                     np.ndarray, int]:
  """The series named by the hyper-parameters, and where to split it.

  Args:
    hparams: `data_path` (a CSV file; None for a synthetic series),
      `value_column` and `time_column` (for the CSV), `preset` (for the
      synthetic series) and `split_time` (None: the preset's split, or 80% of
      a CSV series).

  Returns:
    (time, series, split_time), series float32.

  Raises:
    DataError: for an unreadable file or an unknown preset.
  """
  data_path = hparams.get("data_path")
  if data_path:
    time, series = read_series_csv(
        data_path, value_column=hparams.get("value_column", -1),
        time_column=hparams.get("time_column"))
    default_split = int(len(series) * DEFAULT_TRAIN_FRACTION)
  else:
    time, series, default_split = synthetic_series(
        hparams.get("preset") or DEFAULT_PRESET)
  split_time = hparams.get("split_time")
  return time, series, default_split if split_time is None else split_time


def epoch_seed(seed: int, epoch: int) -> int:
  """A shuffle seed that depends only on (seed, epoch), stable everywhere."""
  state = np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)
  return int(state[0] % (2**31 - 1))


def series_bundle(hparams: Mapping[str, Any],
                  seq2seq: bool = False) -> DataBundle:
  """Windowed training and validation data for a forecasting model.

  Args:
    hparams: the `load_series` keys plus `window_size`, `batch_size`,
      `shuffle_buffer` (default 1000) and `seed` (default 42).
    seq2seq: label every step of the window (Conv1D/LSTM models that return
      sequences) instead of the next value only.

  Returns:
    A DataBundle: `train(epoch)` shuffles the training windows in an order
    that is a pure function of (seed, epoch) (`_shuffled_epochs`), and its
    epochs chain into one dataset (an `EpochData`); `validation` holds the validation split's
    windows in time order; its `SeriesInfo` holds what forecasting
    needs.

  Raises:
    DataError: for bad data, a bad split_time, or a split too short for one
      window.
  """
  time, series, split_time = load_series(hparams)
  _, x_train, _, x_valid = split_series(time, series, split_time)
  window_size = hparams["window_size"]
  batch_size = hparams["batch_size"]
  shuffle_buffer = hparams.get("shuffle_buffer", 1000)
  seed = hparams.get("seed", 42)
  _check_split_fits_window("training", len(x_train), window_size)
  _check_split_fits_window("validation", len(x_valid), window_size)

  train = _shuffled_epochs(window_pairs(x_train, window_size, seq2seq),
                           batch_size, shuffle_buffer, seed)

  validation = windowed_dataset(x_valid, window_size, batch_size,
                                seq2seq=seq2seq, shuffle=False)
  info = SeriesInfo(time=time, series=series, split_time=split_time,
                    window_size=window_size, seq2seq=seq2seq)
  return DataBundle(
      train=train, validation=validation,
      steps_per_epoch=steps_per_epoch(len(x_train), window_size, batch_size),
      info=info, artifacts={SERIES_FILE: info.to_json()})


def _shuffled_epochs(pairs: tf.data.Dataset, batch_size: int,
                     shuffle_buffer: int, seed: int) -> EpochData:
  """Batches of the in-memory windows in a stateless order per epoch.

  The windows are gathered by `stateless_epoch_order(seed, epoch)`, a
  permutation computed from the epoch TENSOR without a stateful shuffle op:
  it traces under any global seed (`Dataset.shuffle` with a tensor seed does
  not under a global seed of 0), so the epochs chain into one dataset, and a
  resumed run sees the order the uninterrupted one did. A shuffle buffer
  smaller than the window count keeps the shuffle local, as the course's
  `shuffle(shuffle_buffer)` does.

  Raises:
    DataError: batch_size or shuffle_buffer is not a positive integer.
  """
  batch_pairs(pairs, batch_size, shuffle_buffer)  # checks the sizes
  count = int(pairs.cardinality())
  features, labels = next(iter(pairs.batch(count)))

  def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
    order = stateless_epoch_order(seed, epoch, count, shuffle_buffer)
    return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).map(
        lambda rows: (tf.gather(features, rows), tf.gather(labels, rows)))

  return EpochData(one_epoch)


def validation_windows(info: SeriesInfo, batch_size: int
                       ) -> tf.data.Dataset:
  """The validation windows `series_bundle` made, in time order, from the
  saved `SeriesInfo` alone (no data read)."""
  return windowed_dataset(info.series[info.split_time:], info.window_size,
                          batch_size, seq2seq=info.seq2seq, shuffle=False)


def _check_split_fits_window(name: str, length: int, window_size: int):
  """Raises DataError when a split gives no (window, label) pair."""
  if length < window_size + 1:
    raise DataError(
        f"the {name} split has {length} values, but window_size "
        f"{window_size} needs at least {window_size + 1}; move split_time or "
        "use a smaller window_size")
