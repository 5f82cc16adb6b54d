r"""Classifies image files: `python -m trainers.predict --model_dir=D PATH...`.

Restores the newest checkpoint of a vision run and prints one line per
image: the file, the predicted class name and its probability, e.g.

    photos/dog1.jpg: dogs (0.9731)

A PATH is an image file or a folder (every image file under it). Files that
are not decodable images are skipped and counted on stderr, unless
`--strict_data` asks to fail on the first.

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
flags.DEFINE_boolean("strict_data", False, "Fail on a file that is not a "
                     "decodable image instead of skipping and counting it.")
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
    UsageError: not an image classifier's SavedModel.
  """
  import numpy as np
  from trainers.common import saved_models
  contents = []
  for path in paths:
    with open(path, "rb") as f:
      contents.append(f.read())
  loaded = saved_models.load(export_dir, "images")
  outputs = []
  for start in range(0, len(contents), FLAGS.batch_size):
    batch = contents[start:start + FLAGS.batch_size]
    outputs.append(saved_models.call(loaded, images=batch)["probabilities"])
  return np.concatenate(outputs), saved_models.class_names(loaded)


def readable_images(paths, input_shape, rescale):
  """(images, their paths) of the decodable files among `paths`; says on
  stderr which files were skipped (or fails, with --strict_data)."""
  import sys
  from data.images import bundles as image_bundles
  images, kept, skipped = image_bundles.load_readable_image_files(
      paths, input_shape, rescale, strict=FLAGS.strict_data)
  if skipped:
    print(f"skipped {len(skipped)} of {len(paths)} files: "
          + "; ".join(skipped), file=sys.stderr)
  return images, kept


def main(argv):
  if not argv[1:]:
    raise cli.UsageError("give one or more image files or folders after the "
                         "flags, e.g. python -m trainers.predict "
                         "--model_dir=D a.jpg photos/")
  from data.images import bundles as image_bundles
  paths = image_bundles.expand_image_paths(argv[1:])
  if FLAGS.saved_model:
    # The SavedModel decodes in its graph; the check here only picks files.
    _, paths = readable_images(paths, (8, 8, 3), 1.0)
    outputs, class_names = saved_model_outputs(FLAGS.saved_model, paths)
    _print_predictions(paths, outputs, class_names)
    return
  import tensorflow as tf
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  spec = session.input_spec(recipe, hparams, FLAGS.model_dir)
  if spec[0].shape.rank != 4:
    raise cli.UsageError(f"model {recipe.name!r} in {FLAGS.model_dir} does "
                         f"not take images (input {spec[0].shape}); "
                         f"trainers.predict serves the vision models")
  info = image_bundles.read_class_info(FLAGS.model_dir) or {}
  images, paths = readable_images(
      paths, spec[0].shape[1:], info.get("rescale", image_bundles.RESCALE))
  trainer = session.restored_trainer(recipe, hparams, FLAGS.model_dir, spec)
  outputs = trainer.predict(
      tf.data.Dataset.from_tensor_slices(images).batch(FLAGS.batch_size))
  _print_predictions(paths, outputs, info.get("class_names", []))


def _print_predictions(paths, outputs, class_names) -> None:
  from engine import classification
  for path, (name, probability) in zip(paths, classification.decode(
      outputs, class_names)):
    print(f"{path}: {name} ({probability:.4f})")


if __name__ == "__main__":
  cli.run(main)
