"""What evaluation adds to metrics.json for a classifier."""

from __future__ import annotations

from data.images import bundles
from engine import classification
from engine import losses
from models import registry

MAX_CONFUSION_CLASSES = 50


def confusion_report(recipe, trainer, dataset, model_dir: str,
                     class_names=None,
                     max_classes: int = MAX_CONFUSION_CLASSES
                     ) -> dict:
  """What evaluate adds to metrics.json for a classifier, else {}.

  Args:
    recipe: the run's recipe; only crossentropy losses are classifiers.
    trainer: the restored trainer.
    dataset: the evaluated (features, labels) dataset.
    model_dir: where classes.json (class names) was stored at training.
    class_names: names to use instead of classes.json (e.g. a text
      bundle's), used when there is one per class.
    max_classes: above this many outputs (a next-word generator's whole
      vocabulary) no matrix is made.

  Returns:
    {"confusion_matrix": [[...]] (rows true, columns predicted),
     "class_names": [...]} or {} for a non-classifier.
  """
  if losses.canonical_name(registry.loss_name(recipe)) not in (
      classification.CLASSIFICATION_LOSSES):
    return {}
  matrix = classification.confusion_matrix(trainer, dataset,
                                           max_classes=max_classes)
  if matrix is None:
    return {}
  info = bundles.read_class_info(model_dir) or {}
  names = list(class_names or info.get("class_names", []))
  if len(names) != len(matrix):
    names = [str(index) for index in range(len(matrix))]
  return {"confusion_matrix": matrix.tolist(), "class_names": names}
