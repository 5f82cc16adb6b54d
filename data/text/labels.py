"""String labels <-> integer ids, saved with the model for inference.

Two orders are supported:

* `order="sorted"` (default): ids follow the sorted class names;
* `order="frequency"`: most frequent first, ties by first appearance. With
  `start=1` this is what the course gets from fitting a Keras `Tokenizer` on
  the labels (BBC: sport=1, business=2, ..., so the model has 6 outputs and
  id 0 is never used).

Example:
  encoder = LabelEncoder(order="frequency", start=1).fit(labels)
  ids = encoder.encode(["sport", "tech"])
  encoder.num_classes          # number of model outputs (start + classes)
"""

from __future__ import annotations

import collections
import json
import os
from typing import Iterable, Sequence

import numpy as np

from data.errors import DataError

ORDERS = ("sorted", "frequency", "first_seen")


class LabelEncoder:
  """Maps class names to ids `start, start+1, ...` in a fixed order.

  Attributes:
    classes: class names in id order (`classes[k]` has id `start + k`).
  """

  def __init__(self, order: str = "sorted", start: int = 0):
    """Stores the settings; classes come from `fit`.

    Args:
      order: "sorted", "frequency" or "first_seen".
      start: the first id (0, or 1 to match the course's label tokenizer).

    Raises:
      DataError: an unknown order or a negative start.
    """
    if order not in ORDERS:
      raise DataError(f"LabelEncoder: order must be one of {ORDERS}, "
                      f"got {order!r}.")
    if not isinstance(start, int) or start < 0:
      raise DataError(f"LabelEncoder: start must be an int >= 0, "
                      f"got {start!r}.")
    self.order = order
    self.start = start
    self.classes: list[str] = []
    self._ids: dict[str, int] = {}

  def fit(self, labels: Iterable[str]) -> "LabelEncoder":
    """Learns the classes of `labels` (replacing any earlier fit).

    Raises:
      DataError: no labels, or an empty label.
    """
    counts = collections.Counter()
    first_seen = {}
    for i, label in enumerate(labels):
      label = str(label)
      if not label:
        raise DataError(f"LabelEncoder.fit: label {i} is empty; every "
                        f"example needs a class name.")
      counts[label] += 1
      first_seen.setdefault(label, i)
    if not counts:
      raise DataError("LabelEncoder.fit: no labels; the data set is empty.")
    if self.order == "sorted":
      classes = sorted(counts)
    elif self.order == "first_seen":
      classes = sorted(counts, key=first_seen.get)
    else:
      classes = sorted(counts, key=lambda c: (-counts[c], first_seen[c]))
    self._set_classes(classes)
    return self

  def _set_classes(self, classes: Sequence[str]) -> None:
    self.classes = list(classes)
    self._ids = {c: self.start + k for k, c in enumerate(self.classes)}

  @property
  def num_classes(self) -> int:
    """Number of model outputs: the largest id + 1 (`start + #classes`)."""
    return self.start + len(self.classes)

  @property
  def class_names(self) -> list[str]:
    """Name per output id; unused ids below `start` are named ''."""
    return [""] * self.start + self.classes

  def encode(self, labels: Iterable[str]) -> np.ndarray:
    """The int32 ids of `labels`.

    Raises:
      DataError: a label that was not seen by `fit` (named, with the known
        classes).
    """
    self._check_fitted()
    ids = []
    for i, label in enumerate(labels):
      try:
        ids.append(self._ids[str(label)])
      except KeyError:
        raise DataError(
            f"LabelEncoder: unknown label {label!r} (example {i}); known "
            f"classes: {', '.join(self.classes)}.") from None
    return np.asarray(ids, dtype=np.int32)

  def decode(self, ids: Iterable[int]) -> list[str]:
    """Class names of `ids`.

    Raises:
      DataError: an id outside `start .. num_classes - 1`.
    """
    self._check_fitted()
    names = []
    for raw in ids:
      k = int(raw) - self.start
      if not 0 <= k < len(self.classes):
        raise DataError(
            f"LabelEncoder: id {int(raw)} is not a class id; valid ids are "
            f"{self.start}..{self.num_classes - 1}.")
      names.append(self.classes[k])
    return names

  def _check_fitted(self) -> None:
    if not self.classes:
      raise ValueError("LabelEncoder: no classes; call fit(labels) or "
                       "LabelEncoder.load(path) first.")

  def to_json(self) -> str:
    """The encoder as JSON: order, start and classes in id order."""
    return json.dumps({"order": self.order, "start": self.start,
                       "classes": self.classes})

  @classmethod
  def from_json(cls, text: str, source: str = "label encoder JSON"
                ) -> "LabelEncoder":
    """Rebuilds an encoder written by `to_json`.

    Raises:
      DataError: the text is not a label encoder's JSON.
    """
    try:
      config = json.loads(text)
      encoder = cls(order=config["order"], start=config["start"])
      classes = [str(c) for c in config["classes"]]
    except (ValueError, KeyError, TypeError) as e:
      raise DataError(f"{source}: not a saved LabelEncoder "
                      f"({type(e).__name__}: {e}).") from None
    if not classes or len(set(classes)) != len(classes):
      raise DataError(f"{source}: classes must be a non-empty list of "
                      f"distinct names, got {classes!r:.200}.")
    encoder._set_classes(classes)
    return encoder

  def save(self, path: str | os.PathLike) -> None:
    """Writes `to_json()` to `path`."""
    with open(path, "w", encoding="utf-8") as f:
      f.write(self.to_json())

  @classmethod
  def load(cls, path: str | os.PathLike) -> "LabelEncoder":
    """Reads an encoder written by `save`."""
    with open(path, encoding="utf-8") as f:
      return cls.from_json(f.read(), source=os.fspath(path))
