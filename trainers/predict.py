r"""Classifies image files: `python -m trainers.predict --model_dir=D FILE...`.

Restores the newest checkpoint of a vision run and prints one line per
image: the file, the predicted class name and its probability, e.g.

    photos/dog1.jpg: dogs (0.9731)

Images are decoded (PNG, JPEG, GIF, BMP), converted to the model's
channels, resized bilinearly to its input size and scaled like the
training data. Class names come from `classes.json`, stored in model_dir
at training time.

`--saved_model=DIR` classifies with an exported SavedModel instead (see
trainers.export): the files' bytes go to its serving signature, which
decodes and scales them in the graph; the output is the same.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag()
flags.DEFINE_string("saved_model", None, "An exported SavedModel folder to "
                    "use instead of --model_dir.")
flags.DEFINE_integer("batch_size", 32, "Images per prediction batch.")
flags.register_validator("batch_size", lambda v: v > 0,
                         message="--batch_size must be positive")
flags.register_multi_flags_validator(
    ["model_dir", "saved_model"],
    lambda d: (d["model_dir"] is None) != (d["saved_model"] is None),
    message="give --model_dir or --saved_model (one of them)")
FLAGS = flags.FLAGS


def saved_model_outputs(export_dir: str, paths):
  """(probabilities, class names) of image files from an exported model.

  Raises:
    UsageError: not an image classifier's SavedModel; DataError: a
      missing file.
  """
  import numpy as np
  from trainers.common import saved_models
  from data.errors import DataError
  contents = []
  for path in paths:
    try:
      with open(path, "rb") as f:
        contents.append(f.read())
    except OSError:
      raise DataError(f"image {path} does not exist") from None
  loaded = saved_models.load(export_dir, "images")
  outputs = []
  for start in range(0, len(contents), FLAGS.batch_size):
    batch = contents[start:start + FLAGS.batch_size]
    outputs.append(saved_models.call(loaded, images=batch)["probabilities"])
  return np.concatenate(outputs), saved_models.class_names(loaded)


def main(argv):
  paths = argv[1:]
  if not paths:
    raise cli.UsageError("give one or more image files after the flags, e.g. "
                         "python -m trainers.predict --model_dir=D a.jpg")
  if FLAGS.saved_model:
    from engine import classification
    outputs, class_names = saved_model_outputs(FLAGS.saved_model, paths)
    for path, (name, probability) in zip(paths, classification.decode(
        outputs, class_names)):
      print(f"{path}: {name} ({probability:.4f})")
    return
  import tensorflow as tf
  from data.images import bundles as image_bundles
  from engine import classification
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  spec = session.input_spec(recipe, hparams, FLAGS.model_dir)
  if spec[0].shape.rank != 4:
    raise cli.UsageError(f"model {recipe.name!r} in {FLAGS.model_dir} does "
                         f"not take images (input {spec[0].shape}); "
                         f"trainers.predict serves the vision models")
  height, width, channels = spec[0].shape[1:]
  info = image_bundles.read_class_info(FLAGS.model_dir) or {}
  class_names = info.get("class_names", [])
  images = image_bundles.load_image_files(
      paths, (height, width, channels),
      info.get("rescale", image_bundles.RESCALE))
  trainer = session.restored_trainer(recipe, hparams, FLAGS.model_dir, spec)
  outputs = trainer.predict(
      tf.data.Dataset.from_tensor_slices(images).batch(FLAGS.batch_size))
  for path, (name, probability) in zip(paths, classification.decode(
      outputs, class_names)):
    print(f"{path}: {name} ({probability:.4f})")


if __name__ == "__main__":
  cli.run(main)
