"""Using an exported SavedModel from the binaries (`--saved_model=DIR`)."""

from __future__ import annotations

import os

from trainers.common import cli

SERVING_KEY = "serving_default"


def load(export_dir: str, input_name: str):
  """Loads a SavedModel whose serving signature takes `input_name`.

  Raises:
    UsageError: no SavedModel in export_dir, or one with another input
      (e.g. a text model given to the image binary).
  """
  import tensorflow as tf
  # A subword text classifier's graph has tensorflow-text's tokenizer ops;
  # importing the package registers them, so the SavedModel can load.
  import tensorflow_text  # pylint: disable=unused-import
  if not os.path.exists(os.path.join(export_dir, "saved_model.pb")):
    raise cli.UsageError(f"--saved_model {export_dir} holds no "
                         f"saved_model.pb; export one with trainers.export")
  loaded = tf.saved_model.load(export_dir)
  signature = loaded.signatures.get(SERVING_KEY)
  inputs = (list(signature.structured_input_signature[1])
            if signature is not None else [])
  if inputs != [input_name]:
    raise cli.UsageError(
        f"--saved_model {export_dir} serves input(s) "
        f"{', '.join(inputs) or 'none'}, not {input_name!r}; give an export "
        f"of the right kind of model")
  return loaded


def call(loaded, **inputs) -> dict:
  """Runs the serving signature; returns NumPy outputs."""
  import tensorflow as tf
  tensors = {name: tf.constant(value) for name, value in inputs.items()}
  return {key: value.numpy()
          for key, value in loaded.signatures[SERVING_KEY](**tensors).items()}


def class_names(loaded) -> list[str]:
  """The exported class names, in class-id order."""
  return [name.decode() for name in loaded.get_class_names().numpy()]
