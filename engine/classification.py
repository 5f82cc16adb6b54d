"""Decoding a classifier's outputs, and its confusion matrix.

One convention for every classifier (vision and text): a one-output sigmoid
model predicts class 1 when its probability is at least 0.5 (`>= 0.5`, the
threshold of Keras's `BinaryAccuracy`), else class 0; a softmax model
predicts its arg-max. The probability reported for a decision is that of
the predicted class (1 - p for class 0 of a sigmoid).

Example:
  decode(np.array([[0.9], [0.2]]), ["neg", "pos"])
  # [("pos", 0.9), ("neg", 0.8)]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

THRESHOLD = 0.5
CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy",
                         "sparse_categorical_crossentropy")


def label_classes(labels) -> np.ndarray:
  """Class indices of binary [B, 1], sparse [B] or one-hot [B, K] labels."""
  labels = np.asarray(labels)
  if labels.ndim == 2 and labels.shape[1] > 1:
    return labels.argmax(axis=1)
  return np.rint(labels.reshape(-1)).astype(np.int64)


def predicted_classes(outputs) -> np.ndarray:
  """Class indices of sigmoid [B, 1] (>= THRESHOLD is class 1) or softmax
  [B, K] outputs."""
  outputs = np.asarray(outputs)
  if outputs.shape[-1] == 1:
    return (outputs.reshape(-1) >= THRESHOLD).astype(np.int64)
  return outputs.argmax(axis=-1)


def class_name(index: int, class_names: Sequence[str]) -> str:
  """The name of class `index`, "class N" when there is no (non-empty) one."""
  name = class_names[index] if index < len(class_names) else ""
  return name or f"class {index}"


def decode(outputs, class_names: Sequence[str]) -> list[tuple[str, float]]:
  """(class name, probability of that class) per row of model outputs.

  Args:
    outputs: (n, 1) sigmoid probabilities of class 1, or (n, k) softmax
      probabilities.
    class_names: name per class id.
  """
  outputs = np.asarray(outputs, np.float64).reshape(len(outputs), -1)
  results = []
  for row, index in zip(outputs, predicted_classes(outputs)):
    if row.shape[0] == 1:
      probability = row[0] if index == 1 else 1.0 - row[0]
    else:
      probability = row[index]
    results.append((class_name(int(index), class_names), float(probability)))
  return results


def confusion_matrix(trainer, dataset, num_classes: int | None = None,
                     max_classes: int | None = None) -> np.ndarray | None:
  """Counts of (true class, predicted class) over a labelled dataset.

  Args:
    trainer: a built or restored trainer (anything with `predict`).
    dataset: batched (features, labels) in a fixed order (validation data).
    num_classes: K; default 2 for a sigmoid output, else its width.
    max_classes: return None instead of a matrix when K exceeds it.

  Returns:
    int64 [K, K]: row = true class, column = predicted class (or None).

  Raises:
    ValueError: a label outside 0..K-1.
  """
  outputs = trainer.predict(dataset)
  true = np.concatenate([label_classes(element[1].numpy())
                         for element in dataset])
  predicted = predicted_classes(outputs)
  if num_classes is None:
    num_classes = 2 if outputs.shape[-1] == 1 else int(outputs.shape[-1])
  if max_classes is not None and num_classes > max_classes:
    return None
  if len(true) and (true.min() < 0 or true.max() >= num_classes):
    raise ValueError(f"labels span {true.min()}..{true.max()}, outside the "
                     f"{num_classes} classes 0..{num_classes - 1}")
  matrix = np.zeros([num_classes, num_classes], np.int64)
  np.add.at(matrix, (true, predicted), 1)
  return matrix


def format_confusion(report: Mapping[str, Any]) -> str:
  """The report's matrix as a text table (rows true, columns predicted)."""
  names = [str(name) for name in report["class_names"]]
  rows = report["confusion_matrix"]
  width = max([len(n) for n in names] + [len(str(v)) for r in rows for v in r]
              + [len("true\\pred")])
  lines = [" ".join(f"{cell:>{width}}" for cell in ["true\\pred", *names])]
  for name, row in zip(names, rows):
    lines.append(" ".join(f"{cell:>{width}}" for cell in [name, *row]))
  return "\n".join(lines)
