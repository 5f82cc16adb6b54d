"""Tests for the course's statistical baselines."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError
from data.series.synthetic import synthetic_series
from models import series as baselines

SQUARES = np.arange(8.0) ** 2  # 0 1 4 9 16 25 36 49
SPLIT = 5                      # validation: 25 36 49


def test_mae_and_mse_by_hand():
  assert baselines.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
  assert baselines.mse([1, 2, 3], [2, 2, 5]) == pytest.approx(5 / 3)


def test_metrics_reject_misaligned_forecasts():
  with pytest.raises(DataError, match=r"shapes \(3,\) and \(2,\)"):
    baselines.mae([1, 2, 3], [1, 2])


def test_moving_average_forecast_matches_the_course_loop():
  expected = [SQUARES[t:t + 3].mean() for t in range(len(SQUARES) - 3)]
  np.testing.assert_allclose(baselines.moving_average_forecast(SQUARES, 3),
                             expected)


def test_naive_forecast_is_the_previous_value():
  np.testing.assert_array_equal(baselines.naive_forecast(SQUARES, SPLIT),
                                [16, 25, 36])


def test_moving_average_baseline_by_hand():
  np.testing.assert_allclose(
      baselines.moving_average_baseline(SQUARES, SPLIT, window_size=2),
      [12.5, 20.5, 30.5])


def test_differenced_forecast_by_hand():
  # diff[t] = s[t] - s[t-2] = 4t - 4; forecast = mean(diff[t-2:t]) + s[t-2].
  np.testing.assert_allclose(
      baselines.differenced_forecast(SQUARES, SPLIT, lag=2, window_size=2),
      [10 + 9, 14 + 16, 18 + 25])


def test_differenced_forecast_with_smoothed_past_by_hand():
  # The past is mean(s[t-3], s[t-2]), centered one season (2 steps) back.
  np.testing.assert_allclose(
      baselines.differenced_forecast(SQUARES, SPLIT, lag=2, window_size=2,
                                     smoothing_window=2),
      [10 + 6.5, 14 + 12.5, 18 + 20.5])


def test_baselines_reject_too_short_history():
  with pytest.raises(DataError, match=r"split_time 100 must be in \[415"):
    baselines.evaluate_baselines(np.arange(500.0), 100)


def test_course_numbers_on_the_week1_series():
  _, series, split_time = synthetic_series("week1")
  scores = baselines.evaluate_baselines(series, split_time)
  # The course notebook's printed MAE and MSE for each forecast.
  expected = {
      "naive": (5.9379, 61.8275),
      "moving_average": (7.1424, 106.6746),
      "diff_moving_average": (5.8393, 52.9737),
      "diff_moving_average_smoothed_past": (4.5694, 33.4523),
  }
  assert set(scores) == set(expected)
  for name, (mae, mse) in expected.items():
    assert scores[name]["mae"] == pytest.approx(mae, abs=1e-3), name
    assert scores[name]["mse"] == pytest.approx(mse, abs=1e-2), name
