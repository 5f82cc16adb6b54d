"""Per-epoch logs of a run, like Keras's History."""

from __future__ import annotations

import json
import os
from typing import Mapping


class History:
  """Epoch numbers and, per metric name, one value per epoch.

  Attributes:
    epoch: the 0-based epoch numbers that finished.
    history: name -> list of values (e.g. "loss", "mae", "val_loss", "lr").
    stop_reason: why training stopped early, or None.
  """

  def __init__(self):
    self.epoch: list[int] = []
    self.history: dict[str, list[float]] = {}
    self.stop_reason: str | None = None

  def append(self, epoch: int, logs: Mapping[str, float]) -> None:
    """Records the logs of one finished epoch."""
    self.epoch.append(epoch)
    for name, value in logs.items():
      self.history.setdefault(name, []).append(float(value))

  def last(self) -> dict[str, float]:
    """The last epoch's logs (empty before the first epoch ends)."""
    return {k: v[-1] for k, v in self.history.items() if v}

  def to_dict(self) -> dict:
    """A JSON-friendly copy."""
    return {"epoch": list(self.epoch), "history": dict(self.history),
            "stop_reason": self.stop_reason}

  @classmethod
  def from_dict(cls, data: Mapping) -> "History":
    """Inverse of to_dict."""
    history = cls()
    history.epoch = list(data.get("epoch", []))
    history.history = {k: list(v) for k, v in data.get("history", {}).items()}
    history.stop_reason = data.get("stop_reason")
    return history

  def save(self, path: str) -> None:
    """Writes the history as JSON, atomically."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
      json.dump(self.to_dict(), f, indent=1)
    os.replace(tmp, path)

  @classmethod
  def load(cls, path: str) -> "History":
    """Reads a history written by save (empty if the file is absent)."""
    if not os.path.exists(path):
      return cls()
    with open(path) as f:
      return cls.from_dict(json.load(f))
