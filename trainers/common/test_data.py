"""The data `trainers.evaluate` scores, read with the preprocessing stored
in model_dir (never refitted):

* `read_test_split`: a held-out test set (`--data_path`). The reader
  follows the artifacts training saved: classes.json (images: an IDX
  folder, .npz or CSV for the 28x28 array models, else a class-per-folder
  tree) or text_config.json (text classifiers, word or subword: BBC CSV,
  aclImdb, Sentiment140).
* `read_validation_split` (and `scored_split`, what evaluate scores
  without --data_path): the run's own validation split, selected as
  training selected it, reading only that split: text through the saved
  tokenizer / subword vocabulary, series from series.json, images with
  classes.json's size, classes, label mode and rescale.
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
  if os.path.exists(os.path.join(model_dir, pipelines.CONFIG_FILE)):
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


def read_validation_split(recipe, hparams, model_dir: str,
                          batch_size: int | None = None):
  """(batched (features, labels) dataset, class names) of the run's
  validation split, or None when it has no reader here (the recipe's
  make_data then gives it; e.g. generators, basics, an image run without
  validation data).

  Raises:
    DataError: the data is missing or unreadable.
  """
  from data.images import bundles as vision_data
  from data.series import pipeline as series_pipeline
  from data.text import pipelines
  batch_size = int(batch_size or hparams.get("batch_size", 32))
  class_info = vision_data.read_class_info(model_dir)
  if class_info is not None and recipe.read_validation is not None:
    dataset = recipe.read_validation(dict(hparams, batch_size=batch_size),
                                     class_info)
    return None if dataset is None else (dataset, class_info["class_names"])
  series = series_pipeline.read_series_info(model_dir)
  if series is not None:
    return series_pipeline.validation_windows(series, batch_size), []
  if os.path.exists(os.path.join(model_dir, pipelines.CONFIG_FILE)):
    from data.text import datasets
    encoder = pipelines.load_inference_encoder(model_dir)
    dataset = datasets.validation_split(recipe.make_data, hparams, encoder,
                                        batch_size)
    return None if dataset is None else (dataset, encoder.class_names)
  return None


def scored_split(recipe, hparams, model_dir: str,
                 batch_size: int | None = None):
  """(dataset, split name, class names) evaluate scores without a test set:
  the validation split read alone with the saved preprocessing; for a run
  without such a reader, the recipe's data (its validation split, else the
  training data)."""
  saved = read_validation_split(recipe, hparams, model_dir, batch_size)
  if saved is not None:
    return saved[0], "validation", saved[1]
  data = recipe.make_data(hparams)
  if data.validation is not None:
    return data.validation, "validation", data.info.class_names
  return data.train(0), "train", data.info.class_names
