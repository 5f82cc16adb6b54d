"""Held-out text test sets, encoded with a trained run's saved tokenizer.

The tokenizer, label ids, padding and text cleaning come from model_dir
(`pipelines.load_inference_encoder` plus the run's hparams); nothing is
refitted on the test text, so unseen words become the OOV id as they would
for a served sentence. Formats:

* a BBC-format CSV (`category,text`): labels through the saved label
  encoder; a category the model was not trained on is refused (named);
* an aclImdb folder (its `test/` split), the `test/` folder itself, or the
  archive: labels 0 (neg) / 1 (pos);
* a Sentiment140 CSV: labels 0 / 1.

Example:
  encoder = pipelines.load_inference_encoder(model_dir)
  dataset = text_test_split("bbc-test.csv", encoder,
                            {"remove_stopwords": True, "strip_html": False})
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
import tensorflow as tf

from data.errors import DataError
from data.text import readers
from data.text.graph_tokenizer import prepare_texts
from data.text.pipelines import InferenceEncoder

_IMDB_CLASSES = ("neg", "pos")


def read_labelled_texts(path: str, encoder: InferenceEncoder,
                        strip_html: bool = False
                        ) -> tuple[list[str], np.ndarray]:
  """(texts, label ids) of a test file, labels as the model was trained.

  Raises:
    DataError: unreadable data, or a category the model was not trained on.
  """
  if os.path.isdir(path) or not path.lower().endswith(".csv"):
    data = _read_imdb_test(path, strip_html)
    return data.texts, np.asarray(data.labels, np.float32)
  if encoder.labels is not None:
    data = readers.read_bbc_csv(path)
    known = set(encoder.labels.classes)
    unknown = sorted(set(map(str, data.labels)) - known)
    if unknown:
      raise DataError(
          f"test data {path} has categories the model was not trained on: "
          f"{', '.join(unknown)}; it knows {', '.join(encoder.labels.classes)}")
    return data.texts, encoder.labels.encode(data.labels)
  data = readers.read_sentiment140(path)
  return data.texts, np.asarray(data.labels, np.float32)


def _read_imdb_test(path: str, strip_html: bool) -> readers.LabeledTexts:
  """The test split of an aclImdb tree, or a split folder (pos/, neg/)."""
  if all(os.path.isdir(os.path.join(path, c)) for c in _IMDB_CLASSES):
    return readers.read_imdb_split(path, strip_html)
  splits = readers.read_imdb(path, strip_html=strip_html)
  if "test" not in splits:
    raise DataError(f"test data {path} has no aclImdb test/ split; pass the "
                    f"folder that holds test/pos and test/neg")
  return splits["test"]


def text_test_split(path: str, encoder: InferenceEncoder,
                    options: Mapping[str, bool], batch_size: int = 32
                    ) -> tf.data.Dataset:
  """Batched (int32 ids, labels) of a test set, in file order.

  Args:
    path: the test data (see the module docstring).
    encoder: the run's saved tokenizer, length, padding and classes.
    options: `graph_tokenizer.text_options(hparams)` of the run: the
      cleaning its training texts got.
    batch_size: texts per batch.

  Raises:
    DataError: unreadable data or unknown categories.
  """
  texts, labels = read_labelled_texts(path, encoder,
                                      options.get("strip_html", False))
  return encoder.batches(prepare_texts(
      texts, remove_stopwords=options.get("remove_stopwords", False)),
      labels, batch_size)
