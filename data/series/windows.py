"""The course's windowed tf.data pipelines over a 1-D series.

Training pairs are windows of `window_size` values labelled with the next
value (or, for sequence-to-sequence models, with the window shifted by one):

  series 0 1 2 3 4 5, window_size 4 -> ([0 1 2 3], 4), ([1 2 3 4], 5)
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from data.errors import DataError


def num_windows(series_length: int, window_size: int) -> int:
  """How many (window, label) pairs a series of that length gives."""
  return max(series_length - window_size, 0)


def steps_per_epoch(series_length: int, window_size: int,
                    batch_size: int) -> int:
  """Batches in one pass of `windowed_dataset` (the last may be partial)."""
  return math.ceil(num_windows(series_length, window_size) / batch_size)


def windowed_dataset(series, window_size: int, batch_size: int,
                     shuffle_buffer: int = 1000, seed: int | None = None,
                     seq2seq: bool = False,
                     shuffle: bool = True) -> tf.data.Dataset:
  """Batched (window, label) pairs of a series, as in the course.

  The pipeline is the course's: `window(window_size + 1, shift=1,
  drop_remainder=True)`, `flat_map(batch)`, shuffle, split into features and
  label, batch (the last batch may be partial), prefetch. The shuffle does not
  reshuffle between iterations, so the order depends only on `seed` (and on
  the global seed, if the program calls `tf.random.set_seed`); callers take
  the epoch into the seed to vary the order per epoch.

  Args:
    series: 1-D array-like of values.
    window_size: number of input steps per example.
    batch_size: examples per batch.
    shuffle_buffer: the shuffle buffer size (in windows).
    seed: shuffle seed; None gives a different order in each process.
    seq2seq: if True, features are [window_size, 1] and labels are the
      window shifted by one step, [window_size, 1]; otherwise features are
      [window_size] and the label is the next value, a scalar.
    shuffle: False keeps the windows in time order (evaluation).

  Returns:
    A tf.data.Dataset of (features, labels) float32 batches whose
    cardinality is known: ceil(num_windows / batch_size).

  Raises:
    DataError: the series has fewer than window_size + 1 values, or a size
      argument is not positive.
  """
  pairs = window_pairs(series, window_size, seq2seq)
  return batch_pairs(pairs, batch_size, shuffle_buffer, seed, shuffle)


def window_pairs(series, window_size: int,
                 seq2seq: bool = False) -> tf.data.Dataset:
  """The unbatched (features, label) pairs of every window, cached.

  The first half of `windowed_dataset`: window, flat_map and the split into
  features and label, computed once and cached, so that each epoch's
  `batch_pairs` only shuffles and batches (no re-tracing, no re-windowing).

  Raises:
    DataError: the series has fewer than window_size + 1 values.
  """
  series = _as_series(series, window_size)
  if seq2seq:
    series = series[:, np.newaxis]
  dataset = _windows(series, window_size + 1)
  if seq2seq:
    dataset = dataset.map(lambda w: (w[:-1], w[1:]))
  else:
    dataset = dataset.map(lambda w: (w[:-1], w[-1]))
  return dataset.cache()


def batch_pairs(pairs: tf.data.Dataset, batch_size: int,
                shuffle_buffer: int = 1000, seed: int | None = None,
                shuffle: bool = True) -> tf.data.Dataset:
  """The second half of `windowed_dataset`: shuffle, batch, prefetch.

  Shuffling the (features, label) pairs gives the same order as the
  course's shuffle of whole windows: the permutation depends only on the
  seed and the number of elements.
  """
  _check_positive(batch_size=batch_size, shuffle_buffer=shuffle_buffer)
  if shuffle:
    pairs = pairs.shuffle(shuffle_buffer, seed=seed,
                          reshuffle_each_iteration=False)
  return pairs.batch(batch_size).prefetch(1)


def forecast_windows(series, window_size: int, batch_size: int = 32,
                     seq2seq: bool = False) -> tf.data.Dataset:
  """All windows of a series in time order, batched, for inference.

  This is the course's `model_forecast` input: windows of `window_size` with
  shift 1, so the i-th prediction is the forecast for step i + window_size.
  A sequence-to-sequence model returns a forecast per step; the caller takes
  the last one (`predictions[:, -1, 0]`).

  Args:
    series: 1-D array-like of values.
    window_size: steps per window.
    batch_size: windows per batch.
    seq2seq: if True, windows are [window_size, 1] (what a Conv1D/LSTM model
      without an ExpandDims layer takes); otherwise [window_size].

  Returns:
    A tf.data.Dataset of float32 window batches, len(series) - window_size + 1
    windows in all.

  Raises:
    DataError: the series is shorter than window_size.
  """
  series = _as_series(series, window_size, extra=0)
  _check_positive(batch_size=batch_size)
  if seq2seq:
    series = series[:, np.newaxis]
  return _windows(series, window_size).batch(batch_size).prefetch(1)


def _windows(series: np.ndarray, size: int) -> tf.data.Dataset:
  """Every contiguous window of `size` steps, shift 1, with known count."""
  dataset = tf.data.Dataset.from_tensor_slices(series)
  dataset = dataset.window(size, shift=1, drop_remainder=True)
  # drop_remainder only makes the static shape [size]: every window is full.
  dataset = dataset.flat_map(
      lambda window: window.batch(size, drop_remainder=True))
  # flat_map hides the count; restore it so batching reports steps per epoch.
  return dataset.apply(
      tf.data.experimental.assert_cardinality(len(series) - size + 1))


def _as_series(series, window_size: int, extra: int = 1) -> np.ndarray:
  """The series as a float32 vector at least window_size + extra long."""
  if isinstance(window_size, bool) or not isinstance(
      window_size, (int, np.integer)) or window_size < 1:
    raise DataError(f"window_size must be a positive integer, got "
                    f"{window_size!r}")
  values = np.asarray(series, dtype=np.float32)
  if values.ndim != 1:
    raise DataError(f"expected a 1-D series, got shape {values.shape}; pass "
                    "one value per time step")
  needed = window_size + extra
  if len(values) < needed:
    raise DataError(
        f"the series has {len(values)} values, but window_size "
        f"{window_size} needs at least {needed}; use a longer series or a "
        "smaller window_size")
  return values


def _check_positive(**sizes: int) -> None:
  """Raises DataError naming the first size that is not a positive int."""
  for name, value in sizes.items():
    if isinstance(value, bool) or not isinstance(
        value, (int, np.integer)) or value < 1:
      raise DataError(f"{name} must be a positive integer, got {value!r}")
