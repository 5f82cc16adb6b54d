"""Typed access to hyper-parameters, which may arrive as --hparam strings."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from engine.errors import EngineUserError


def int_hparam(hparams: Mapping[str, Any], key: str,
               default: int | None = None, minimum: int = 1) -> int | None:
  """`hparams[key]` as an int (numeric strings from --hparam accepted).

  Args:
    hparams: the recipe's hyper-parameters.
    key: the name, e.g. "vocab_size".
    default: returned when the value is None (None: None is returned).
    minimum: the smallest valid value.

  Returns:
    The int, or `default` for a None value.

  Raises:
    EngineUserError: a value that is not an integer >= minimum.
  """
  value = hparams.get(key)
  if value is None:
    return default
  try:
    number = int(value) if isinstance(value, str) else value
  except ValueError:
    number = None
  if (isinstance(number, bool) or not isinstance(number, (int, np.integer))
      or number < minimum):
    raise EngineUserError(
        f"hyper-parameter {key} must be an integer >= {minimum}, got "
        f"{value!r}; set it with --{key}=N or --hparam {key}=N.")
  return int(number)


def float_hparam(hparams: Mapping[str, Any], key: str) -> float:
  """`hparams[key]` as a float.

  Raises:
    EngineUserError: a value that is not a number >= 0.
  """
  value = hparams[key]
  try:
    number = float(value)
  except (TypeError, ValueError):
    number = -1.0
  if number < 0:
    raise EngineUserError(f"hyper-parameter {key} must be a number >= 0, got "
                          f"{value!r}.")
  return number


def bool_hparam_value(value: Any) -> bool:
  """A boolean hparam, also from the strings --hparam gives."""
  if isinstance(value, str):
    return value.strip().lower() in ("1", "true", "yes")
  return bool(value)
