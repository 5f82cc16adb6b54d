"""A held-out test set for `trainers.evaluate --data_path`, read with the
preprocessing stored in model_dir (never refitted on the test data).

The reader follows the artifacts training saved: classes.json (images: an
IDX folder, .npz or CSV for the 28x28 array models, else a class-per-folder
tree) or tokenizer.json (text classifiers: BBC CSV, aclImdb, Sentiment140).
"""

from __future__ import annotations

import os

from trainers.common import cli


def read_test_split(recipe, hparams, model_dir: str, path: str,
                    batch_size: int | None = None):
  """(batched (features, labels) dataset, class names) of a test set.

  Raises:
    UsageError: a model without a test-set reader (e.g. a generator).
    DataError: unreadable data, or classes the model was not trained on.
  """
  from data.images import test_split as image_test_split
  from data.text import graph_tokenizer, pipelines, test_splits
  from data.images import bundles as vision_data
  path = os.path.abspath(os.path.expanduser(path))
  batch_size = int(batch_size or hparams.get("batch_size", 32))
  info = vision_data.read_class_info(model_dir)
  if info is not None:
    names, shape = info["class_names"], info["input_shape"]
    rescale = info.get("rescale", vision_data.RESCALE)
    if _is_array_model(shape, path):
      return image_test_split.array_test_split(
          path, names, shape, batch_size, rescale), names
    return image_test_split.folder_test_split(
        path, names, shape[:2], shape[2], info["label_mode"], batch_size,
        rescale), names
  if os.path.exists(os.path.join(model_dir, pipelines.TOKENIZER_FILE)):
    encoder = pipelines.load_inference_encoder(model_dir)
    if not encoder.class_names:
      raise cli.UsageError(f"model {recipe.name!r} is a text generator; a "
                           f"test set applies to classifiers")
    return test_splits.text_test_split(
        path, encoder, graph_tokenizer.text_options(hparams),
        batch_size), encoder.class_names
  raise cli.UsageError(
      f"model {recipe.name!r} has no test-set reader; --data_path applies "
      f"to the image and text classifiers (time series: trainers.forecast)")


def _is_array_model(shape, path: str) -> bool:
  """MNIST-style arrays: 28x28x1 models reading IDX, .npz or CSV files."""
  if list(shape) != [28, 28, 1]:
    return False
  if os.path.isdir(path):
    return any(name.endswith(("idx3-ubyte", "idx3-ubyte.gz"))
               for name in os.listdir(path))
  return True
