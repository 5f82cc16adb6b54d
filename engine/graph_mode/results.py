"""What a linear-regression run reports, in graph mode and in TF2 alike."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class LossLog:
  """The full-batch MSE with the weights that `step` updates produced."""
  step: int
  loss: float


@dataclasses.dataclass(frozen=True)
class RegressionResult:
  """Found weights (D, 1), the logged losses, and the global step reached."""
  weights: np.ndarray
  history: list[LossLog]
  final_step: int
