"""Tests for the series generator, CSV reader, split, windows and bundle."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from data.series import pipeline
from data.errors import DataError
from data.series.pipeline import (forecast_windows, read_series_csv,
                             series_bundle, split_series, synthetic_series,
                             windowed_dataset)


def _batches(dataset):
  return [tuple(t.numpy() for t in batch) for batch in dataset]


def _first_column_order(dataset):
  return [float(f[0]) for features, _ in dataset for f in features.numpy()]


# -- windowing ------------------------------------------------------------


def test_windows_are_the_courses_on_range_10():
  batches = _batches(windowed_dataset(np.arange(10), window_size=4,
                                      batch_size=2, shuffle=False))
  features = np.concatenate([f for f, _ in batches])
  labels = np.concatenate([l for _, l in batches])
  np.testing.assert_array_equal(
      features, [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6],
                 [4, 5, 6, 7], [5, 6, 7, 8]])
  np.testing.assert_array_equal(labels, [4, 5, 6, 7, 8, 9])
  assert [f.shape for f, _ in batches] == [(2, 4)] * 3
  assert features.dtype == np.float32


def test_last_batch_is_partial_and_cardinality_is_known():
  dataset = windowed_dataset(np.arange(10), window_size=4, batch_size=4,
                             seed=1)
  assert int(dataset.cardinality()) == 2
  assert [len(l) for _, l in _batches(dataset)] == [4, 2]


def test_seq2seq_labels_are_the_window_shifted_by_one():
  features, labels = _batches(windowed_dataset(
      np.arange(10), window_size=4, batch_size=6, seq2seq=True,
      shuffle=False))[0]
  assert features.shape == (6, 4, 1) and labels.shape == (6, 4, 1)
  np.testing.assert_array_equal(features[0, :, 0], [0, 1, 2, 3])
  np.testing.assert_array_equal(labels[0, :, 0], [1, 2, 3, 4])
  np.testing.assert_array_equal(labels[5, :, 0], [6, 7, 8, 9])


def test_shuffle_order_depends_only_on_seed():
  make = lambda seed: windowed_dataset(np.arange(40), window_size=4,
                                       batch_size=8, seed=seed)
  first = make(7)
  order = _first_column_order(first)
  assert _first_column_order(first) == order  # No reshuffle on re-iteration.
  assert _first_column_order(make(7)) == order
  assert _first_column_order(make(8)) != order
  assert sorted(order) == list(range(36))
  assert order != sorted(order)


def test_short_series_error_says_both_lengths():
  with pytest.raises(DataError, match=r"has 4 values.*window_size 4 needs "
                     r"at least 5"):
    windowed_dataset(np.arange(4), window_size=4, batch_size=2)


def test_forecast_windows_are_every_window_in_order():
  batches = [b.numpy() for b in forecast_windows(np.arange(6), 4,
                                                 batch_size=2)]
  np.testing.assert_array_equal(np.concatenate(batches),
                                [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]])
  seq = next(iter(forecast_windows(np.arange(6), 4, seq2seq=True)))
  assert seq.shape == (3, 4, 1)


# -- generator and split ----------------------------------------------------


def test_synthetic_series_is_deterministic_with_course_values():
  time, series, split_time = synthetic_series("week1")
  _, again, _ = synthetic_series("week1")
  np.testing.assert_array_equal(series, again)
  assert time.shape == series.shape == (4 * 365 + 1,)
  assert series.dtype == np.float32 and split_time == 1000
  first_noise = np.random.RandomState(42).randn(1)[0]
  # baseline 10 + trend 0 + 40 * cos(0) + 5 * noise.
  np.testing.assert_allclose(series[0], 50 + 5 * first_noise, rtol=1e-6)


@pytest.mark.parametrize("season_time, expected", [
    (0.0, 1.0), (0.25, 0.0), (0.5, np.exp(-1.5))], ids=["cos_0", "cos_quarter",
                                                        "decay_half"])
def test_seasonal_pattern(season_time, expected):
  np.testing.assert_allclose(
      pipeline.seasonal_pattern(np.array(season_time)), expected,
      atol=1e-12)


def test_presets_differ_and_unknown_preset_is_named():
  _, week1, _ = synthetic_series("week1")
  _, week2, _ = synthetic_series("week2")
  assert not np.allclose(week1, week2)
  with pytest.raises(DataError, match="'nope'.*week1"):
    synthetic_series("nope")


def test_split_series_partitions_at_split_time():
  t_train, s_train, t_valid, s_valid = split_series(
      np.arange(5), np.arange(5) * 10, 3)
  np.testing.assert_array_equal(s_train, [0, 10, 20])
  np.testing.assert_array_equal(t_valid, [3, 4])
  np.testing.assert_array_equal(s_valid, [30, 40])
  assert len(t_train) == 3


@pytest.mark.parametrize("split_time", [0, 5, -1, 2.5],
                         ids=["zero", "length", "negative", "float"])
def test_split_series_rejects_bad_split_time(split_time):
  with pytest.raises(DataError, match="0 < split_time < 5"):
    split_series(np.arange(5), np.arange(5), split_time)


# -- CSV reader -------------------------------------------------------------


def _write(tmp_path, text: str, name: str = "series.csv") -> str:
  path = tmp_path / name
  path.write_bytes(text.encode("utf-8"))
  return str(path)


SUNSPOTS_LIKE = (",Date,Monthly Mean Total Sunspot Number\r\n"
                 "0,1749-01-31,96.7\r\n1,1749-02-28,104.3\r\n"
                 "2,1749-03-31,116.7\r\n")
TEMPERATURES_LIKE = '"Date","Temp"\r\n"1981-01-01",20.7\r\n"1981-01-02",17.9'


@pytest.mark.parametrize("text, column, expected", [
    (SUNSPOTS_LIKE, -1, [96.7, 104.3, 116.7]),
    (SUNSPOTS_LIKE, "Monthly Mean Total Sunspot Number", [96.7, 104.3, 116.7]),
    (SUNSPOTS_LIKE, 0, [0, 1, 2]),
    (SUNSPOTS_LIKE, "2", [96.7, 104.3, 116.7]),
    (TEMPERATURES_LIKE, "Temp", [20.7, 17.9]),
    ("a,b\n1,2\n\n3,4\n", "b", [2, 4]),
], ids=["last_index", "by_name", "by_index", "index_as_string",
        "quoted_header_crlf_no_final_newline", "lf_blank_line"])
def test_read_series_csv_good_files(tmp_path, text, column, expected):
  time, values = read_series_csv(_write(tmp_path, text), value_column=column)
  np.testing.assert_allclose(values, expected, rtol=1e-6)
  assert values.dtype == np.float32
  np.testing.assert_array_equal(time, np.arange(len(expected)))


def test_read_series_csv_returns_dates(tmp_path):
  dates, values = read_series_csv(_write(tmp_path, TEMPERATURES_LIKE),
                                  value_column="Temp", time_column="Date")
  assert list(dates) == ["1981-01-01", "1981-01-02"]
  assert values.shape == (2,)


@pytest.mark.parametrize("text, column, pattern", [
    ("Date,Temp\n1981-01-01,20.7\n1981-01-02,abc\n", "Temp",
     r"series.csv, line 3: 'abc' in column 'Temp' is not a number"),
    ("Date,Temp\r\n1981-01-01,20.7\r\n1981-01-02\r\n", "Temp",
     r"line 3: 1 columns, expected 2"),
    ("Date,Temp\n1981-01-01,nan\n", "Temp", r"line 2: 'nan'.*not finite"),
    ("Date,Temp\n1981-01-01,inf\n", "Temp", r"line 2: 'inf'.*not finite"),
    ("Date,Temp\n1981-01-01,\n", "Temp", r"line 2: '' in column 'Temp'"),
    ("Date,Temp\n1981-01-01,1\n", "Value", r"no column named 'Value'.*'Temp'"),
    ("Date,Temp\n1981-01-01,1\n", 5, r"column index 5 is out of range"),
    ("Date,Temp\n", "Temp", r"no data rows after the header on line 1"),
    ("", -1, r"the file is empty"),
], ids=["bad_number", "missing_column", "nan", "inf", "empty_cell",
        "unknown_name", "index_out_of_range", "header_only", "empty_file"])
def test_read_series_csv_bad_files(tmp_path, text, column, pattern):
  with pytest.raises(DataError, match=pattern) as error:
    read_series_csv(_write(tmp_path, text), value_column=column)
  assert "\n" not in str(error.value)


def test_read_series_csv_missing_file_names_path(tmp_path):
  missing = str(tmp_path / "absent.csv")
  with pytest.raises(DataError, match="absent.csv: no such file"):
    read_series_csv(missing)


# -- bundle -----------------------------------------------------------------


def test_series_bundle_from_csv(tmp_path):
  rows = "".join(f"{i},{i * 1.5}\r\n" for i in range(30))
  path = _write(tmp_path, "t,value\r\n" + rows)
  bundle = series_bundle({"data_path": path, "window_size": 4,
                          "batch_size": 8, "seed": 3})
  info = bundle.info
  assert info.split_time == 24  # 80% of 30 values.
  assert info.window_size == 4 and info.seq2seq is False
  np.testing.assert_allclose(info.series[:3], [0, 1.5, 3])
  assert bundle.steps_per_epoch == 3  # ceil(20 windows / 8).
  features, labels = bundle.element_spec
  assert features.shape.as_list() == [None, 4]
  assert labels.shape.as_list() == [None]
  assert int(bundle.train(0).cardinality()) == 3
  assert _first_column_order(bundle.train(0)) == _first_column_order(
      bundle.train(0))
  assert _first_column_order(bundle.train(0)) != _first_column_order(
      bundle.train(1))
  validation = _batches(bundle.validation)
  np.testing.assert_allclose(validation[0][0][0], [36, 37.5, 39, 40.5])
  np.testing.assert_allclose(validation[0][1], [42, 43.5])


def test_series_bundle_synthetic_seq2seq_spec():
  bundle = series_bundle({"preset": "week1", "window_size": 60,
                          "batch_size": 100}, seq2seq=True)
  features, labels = bundle.element_spec
  assert features.shape.as_list() == [None, 60, 1]
  assert labels.shape.as_list() == [None, 60, 1]
  assert features.dtype == tf.float32
  assert bundle.steps_per_epoch == 10  # ceil(940 windows / 100).
  assert bundle.info.split_time == 1000


def test_series_bundle_validation_too_short(tmp_path):
  path = _write(tmp_path, "v\n" + "1\n" * 10)
  with pytest.raises(DataError, match="validation split has 2 values"):
    series_bundle({"data_path": path, "window_size": 4, "batch_size": 2})


def test_epoch_seed_is_stable():
  assert pipeline.epoch_seed(42, 0) == pipeline.epoch_seed(42, 0)
  assert pipeline.epoch_seed(42, 0) != pipeline.epoch_seed(42, 1)
  assert 0 <= pipeline.epoch_seed(42, 5) < 2**31


def _small_bundle(seed, **extra):
  """80 training windows of 20 (3 batches of 32), the rest validation."""
  return pipeline.series_bundle({"window_size": 20, "batch_size": 32,
                                 "seed": seed, "split_time": 100, **extra})


@pytest.mark.parametrize("seed", [0, 7], ids=["seed0", "seed7"])
def test_series_epochs_chain_and_depend_only_on_seed_and_epoch(seed):
  tf.random.set_seed(seed)  # --seed sets the global seed too
  bundle = _small_bundle(seed)
  steps = bundle.steps_per_epoch
  chained = list(bundle.train.epochs_from(1).take(2 * steps))
  per_epoch = [b for epoch in (1, 2) for b in bundle.train(epoch)]
  assert len(per_epoch) == 2 * steps == 6
  for (x, y), (x_want, y_want) in zip(chained, per_epoch):
    np.testing.assert_array_equal(x, x_want)
    np.testing.assert_array_equal(y, y_want)
  tf.random.set_seed(seed + 1)  # another global seed: the same orders
  again = _small_bundle(seed)
  assert _first_column_order(again.train(1)) == _first_column_order(
      bundle.train(1))
  assert _first_column_order(bundle.train(1)) != _first_column_order(
      bundle.train(2))
  assert _first_column_order(bundle.train(1)) != _first_column_order(
      _small_bundle(seed + 1).train(1))
  assert sorted(_first_column_order(bundle.train(1))) == sorted(
      _first_column_order(bundle.train(2)))  # every window, once


def test_a_small_shuffle_buffer_keeps_the_shuffle_local():
  order = _first_column_order(_small_bundle(3, shuffle_buffer=4).train(0))
  start = [float(v) for v in synthetic_series("week1")[1][:80]]
  moved = [abs(order.index(v) - i) for i, v in enumerate(start)]
  assert 0 < max(moved) <= 4


def test_series_resume_mid_run_equals_uninterrupted(tmp_path):
  from tests.engine.test_trainer import make_trainer, weights
  tf.random.set_seed(0)
  bundle = _small_bundle(0)
  full = make_trainer()
  full.fit(bundle.train, train_steps=8, steps_per_epoch=3)
  first = make_trainer(model_dir=str(tmp_path), checkpoint_every=1)
  first.fit(bundle.train, train_steps=4, steps_per_epoch=3)
  resumed = make_trainer(model_dir=str(tmp_path), checkpoint_every=1)
  resumed.fit(_small_bundle(0).train, train_steps=8, steps_per_epoch=3)
  assert resumed.steps_done == 8
  for a, b in zip(weights(full), weights(resumed)):
    np.testing.assert_allclose(a, b, atol=1e-6)
