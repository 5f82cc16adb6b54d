"""Optimizers with Keras 3's update rules, correct under MirroredStrategy.

  optimizer = optimizers.get("adam", learning_rate=1e-3)
  optimizer.build(model.trainable_variables)   # under strategy.scope()
  optimizer.apply(grads, model.trainable_variables)
"""

from __future__ import annotations

from engine.errors import EngineUserError
from engine.optimizer_names import OPTIMIZER_NAMES
from engine.optimizers import schedules
from engine.optimizers.adam import Adam
from engine.optimizers.base import Optimizer
from engine.optimizers.rmsprop import RMSprop
from engine.optimizers.sgd import SGD

_OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}

__all__ = ["Adam", "Optimizer", "RMSprop", "SGD", "get", "schedules"]


def get(name: str, learning_rate=None, **kwargs) -> Optimizer:
  """Creates an optimizer by name.

  Args:
    name: "sgd", "rmsprop" or "adam" (any case).
    learning_rate: Float, tf.Variable or schedule; None keeps the class
      default (SGD 0.01, RMSprop and Adam 0.001).
    **kwargs: Further constructor arguments (momentum=, clipnorm=, ...).

  Returns:
    A new optimizer; create it under the strategy scope.

  Raises:
    EngineUserError: for an unknown name (the message lists the known ones)
      or an argument the optimizer does not take.
  """
  key = str(name).lower()
  if key not in _OPTIMIZERS:
    raise EngineUserError(
        f"unknown optimizer {name!r}; use one of {sorted(_OPTIMIZERS)}.")
  if learning_rate is not None:
    kwargs["learning_rate"] = learning_rate
  try:
    return _OPTIMIZERS[key](**kwargs)
  except TypeError as e:
    raise EngineUserError(f"optimizer {name!r}: {e}") from None


def names() -> list[str]:
  """The optimizer names `get` accepts (`engine.optimizer_names`), sorted."""
  return sorted(OPTIMIZER_NAMES)
