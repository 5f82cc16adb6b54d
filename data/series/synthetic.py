"""The course's synthetic time series: trend + seasonality + noise.

These are the generator functions of "Sequences, Time Series and Prediction"
(weeks 1 to 4), and the parameter sets its notebooks use, as named presets:

  time, series, split_time = synthetic_series("week1")
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import DataError


def trend(time: np.ndarray, slope: float = 0.0) -> np.ndarray:
  """A straight line through the origin: `slope * time`."""
  return slope * time


def seasonal_pattern(season_time: np.ndarray) -> np.ndarray:
  """The course's arbitrary yearly shape on season_time in [0, 1).

  A cosine over the first 40% of the period, then an exponential decay.
  """
  return np.where(season_time < 0.4,
                  np.cos(season_time * 2 * np.pi),
                  1 / np.exp(3 * season_time))


def seasonality(time: np.ndarray, period: float, amplitude: float = 1.0,
                phase: float = 0.0) -> np.ndarray:
  """Repeats `seasonal_pattern` every `period` steps, scaled by amplitude."""
  season_time = ((time + phase) % period) / period
  return amplitude * seasonal_pattern(season_time)


def noise(time: np.ndarray, noise_level: float = 1.0,
          seed: int | None = None) -> np.ndarray:
  """Gaussian white noise, one value per time step, from a seeded RNG."""
  rnd = np.random.RandomState(seed)
  return rnd.randn(len(time)) * noise_level


@dataclasses.dataclass(frozen=True)
class SeriesPreset:
  """The parameters of one synthetic series of the course.

  Attributes:
    baseline: constant level added to every step.
    slope: trend slope per step.
    amplitude: seasonality amplitude.
    noise_level: standard deviation of the noise.
    seed: noise seed.
    split_time: first validation step.
    period: seasonality period in steps.
    length: number of steps (the course's four years plus a day).
  """

  baseline: float
  slope: float
  amplitude: float
  noise_level: float
  seed: int
  split_time: int
  period: int = 365
  length: int = 4 * 365 + 1


PRESETS: dict[str, SeriesPreset] = {
    # Week 1 (naive and moving-average forecasts), week 3 (RNN, LSTM) and
    # week 4 (Conv1D + LSTM) lessons.
    "week1": SeriesPreset(baseline=10, slope=0.05, amplitude=40,
                          noise_level=5, seed=42, split_time=1000),
    # Week 2 lessons (single layer and deep neural network on windows).
    "week2": SeriesPreset(baseline=10, slope=0.09, amplitude=20,
                          noise_level=5, seed=42, split_time=1000),
    # Week 1 exercise: a flatter, less noisy series split later.
    "week1_exercise": SeriesPreset(baseline=10, slope=0.01, amplitude=40,
                                   noise_level=2, seed=42, split_time=1100),
}


def synthetic_series(
    preset: str = "week1") -> tuple[np.ndarray, np.ndarray, int]:
  """Builds one of the course's synthetic series.

  Args:
    preset: a key of `PRESETS` ("week1", "week2" or "week1_exercise").

  Returns:
    (time, series, split_time): time is `arange(length)` and series its
    values, both float32; split_time is the preset's first validation step.

  Raises:
    DataError: for an unknown preset name.
  """
  if preset not in PRESETS:
    raise DataError(
        f"unknown synthetic series preset {preset!r}; use one of "
        f"{', '.join(sorted(PRESETS))}")
  p = PRESETS[preset]
  time = np.arange(p.length, dtype=np.float32)
  series = (p.baseline + trend(time, p.slope)
            + seasonality(time, period=p.period, amplitude=p.amplitude))
  series = series + noise(time, p.noise_level, seed=p.seed)
  return time, series.astype(np.float32), p.split_time
