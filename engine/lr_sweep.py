"""Reading a learning-rate sweep: which rate to train with."""

from __future__ import annotations

import numpy as np

from engine.errors import EngineUserError

SMOOTHING = 5


def suggest_learning_rate(lrs, losses, smoothing: int = SMOOTHING) -> float:
  """The rate where the loss, smoothed over `smoothing` epochs, is lowest.

  That is where the course reads its rate off the sweep's plot (e.g. 8e-6
  for the series DNN): the fastest rate before the loss turns up and
  diverges. NaN/Inf epochs (divergence) are ignored.

  Raises:
    EngineUserError: every loss is NaN/Inf.
  """
  lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
  finite = np.isfinite(losses)
  lrs, losses = lrs[finite], losses[finite]
  if len(losses) == 0:
    raise EngineUserError("every epoch's loss was NaN/Inf; start the sweep "
                          "at a lower rate (--lr0)")
  k = min(smoothing, len(losses))
  smoothed = np.convolve(losses, np.ones(k) / k, mode="valid")
  return float(lrs[int(np.argmin(smoothed)) + k // 2])
