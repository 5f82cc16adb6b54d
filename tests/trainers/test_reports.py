"""What evaluate adds to metrics.json for a classifier."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from data.images import bundles
from models import registry
from trainers.common import reports
from tests import testing


def test_confusion_report_uses_stored_class_names(tmp_path):
  for name, text in bundles.class_artifact(
      ["cats", "dogs"], "binary", (8, 8, 3)).items():
    (tmp_path / name).write_text(text)
  dataset = tf.data.Dataset.from_tensor_slices(
      (np.zeros([3, 1], np.float32), np.array([[0.], [1.], [1.]],
                                              np.float32))).batch(3)
  trainer = testing.FixedPredictions([[0.1], [0.8], [0.3]])
  report = reports.confusion_report(registry.get("happy_sad_cnn"), trainer,
                                    dataset, str(tmp_path))
  assert report == {"confusion_matrix": [[1, 0], [1, 1]],
                    "class_names": ["cats", "dogs"]}
  assert reports.confusion_report(registry.get("series_dnn"), trainer,
                                  dataset, str(tmp_path)) == {}
