"""Formatting text-classifier predictions, with a warning for guesses."""

from __future__ import annotations

import numpy as np

NO_KNOWN_WORD = "warning: no word of this sentence is in the vocabulary; " \
                "the prediction is a guess"


def known_words(ids: np.ndarray, oov_index: int | None) -> np.ndarray:
  """Per encoded row, how many ids are real words (not padding or OOV)."""
  ids = np.asarray(ids)
  known = ids != 0
  if oov_index is not None:
    known &= ids != oov_index
  return known.sum(axis=1)


def prediction_line(name: str, probability: float, sentence: str,
                    known: int | None) -> str:
  """`class<TAB>probability<TAB>sentence`, plus a warning when no word of
  the sentence is known (`known` 0; None: not counted)."""
  line = f"{name}\t{probability:.4f}\t{sentence}"
  return f"{line}\t{NO_KNOWN_WORD}" if known == 0 else line
