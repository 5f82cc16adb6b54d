"""The synthetic linear-regression data the graph-mode and TF2 runs share.

    features ~ N(0, 1), shape (num_examples, num_features)
    targets = features @ true_weights + noise_scale * N(0, 1)

drawn from `numpy.random.RandomState(seed)`, so both runs see the same arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.errors import EngineUserError


@dataclasses.dataclass(frozen=True)
class RegressionData:
  """Features (N, D), targets (N, 1) and the weights (D, 1) behind them."""
  features: np.ndarray
  targets: np.ndarray
  true_weights: np.ndarray

  @property
  def num_features(self) -> int:
    """D, the number of columns of `features`."""
    return self.features.shape[1]


def make_regression_data(num_examples: int = 1000, num_features: int = 3,
                         noise_scale: float = 0.2,
                         seed: int = 0) -> RegressionData:
  """Draws y = x @ w + noise_scale * noise, all float32.

  Args:
    num_examples: N, rows of data (>= 1).
    num_features: D, columns of x and rows of w (>= 1).
    noise_scale: standard deviation of the added noise (>= 0).
    seed: NumPy seed (0 <= seed < 2**32); the same seed gives the same data.

  Returns:
    A RegressionData.

  Raises:
    EngineUserError: a size < 1, a negative noise_scale or a bad seed.
  """
  if num_examples < 1 or num_features < 1:
    raise EngineUserError(
        f"need num_examples >= 1 and num_features >= 1, got {num_examples} "
        f"and {num_features}; pass positive sizes.")
  if noise_scale < 0:
    raise EngineUserError(
        f"noise_scale must be >= 0, got {noise_scale}; pass a std dev.")
  if not 0 <= seed < 2**32:
    raise EngineUserError(
        f"seed must be in [0, 2**32), got {seed}; pass a smaller seed.")
  rng = np.random.RandomState(seed)
  true_weights = rng.normal(size=(num_features, 1))
  features = rng.normal(size=(num_examples, num_features))
  noise = rng.normal(size=(num_examples, 1))
  targets = features @ true_weights + noise_scale * noise
  return RegressionData(features.astype(np.float32),
                        targets.astype(np.float32),
                        true_weights.astype(np.float32))
