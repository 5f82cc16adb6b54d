r"""Imports a Keras weights file into a registered model's twin.

    python -m trainers.import_keras --model=mnist_cnn \
        --weights=mnist.weights.h5 --model_dir=D [--class_names=a,b]

Reads the file (Keras 2 `.h5` or Keras 3 `.weights.h5`, see
`data.keras_weights`), builds the engine model, checks that every layer fits
(one-line error naming the first that does not; nothing written then), and
writes a step-0 checkpoint, config.json and classes.json into --model_dir.
`trainers.predict`, `trainers.evaluate` and `trainers.visualize` then work on
it at once, and `trainers.train --model_dir=D` continues training it.
"""

from __future__ import annotations

import os

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_flag()
common_flags.define_model_dir_flag()
common_flags.define_hparam_flags()
flags.DEFINE_string("weights", None, "The Keras weights file (.h5 or "
                    ".weights.h5) to import.")
flags.mark_flag_as_required("weights")
flags.DEFINE_integer("seed", 42, "Seed of the weights the file does not "
                     "set (none for a matching file).")
flags.DEFINE_list("class_names", None, "Class names in label order "
                  "(default: the course dataset's), e.g. cats,dogs.")
FLAGS = flags.FLAGS

_DIGITS = [str(d) for d in range(10)]
# The course datasets' class folders / labels, in label order.
COURSE_CLASS_NAMES = {
    "mnist": _DIGITS, "happy_sad": ["happy", "sad"],
    "horse_human": ["horses", "humans"], "cats_dogs": ["cats", "dogs"],
    "rps": ["paper", "rock", "scissors"],
    "sign_language": [chr(ord("A") + i) for i in range(26)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
_LABEL_MODES = {"binary_crossentropy": "binary",
                "sparse_categorical_crossentropy": "sparse",
                "categorical_crossentropy": "categorical"}


def default_class_names(model_name: str) -> list[str]:
  """The course's class names for a model (longest matching prefix)."""
  for prefix in sorted(COURSE_CLASS_NAMES, key=len, reverse=True):
    if model_name.startswith(prefix + "_"):
      return list(COURSE_CLASS_NAMES[prefix])
  return []


def classes_artifact(recipe, hparams, spec, class_names) -> dict[str, str]:
  """classes.json for an image classifier, else nothing."""
  from engine import losses
  from models import registry
  from data.images import bundles
  loss = losses.canonical_name(registry.loss_name(recipe, hparams))
  if loss not in _LABEL_MODES or spec.shape.rank != 4 or not class_names:
    return {}
  return bundles.class_artifact(class_names, _LABEL_MODES[loss],
                                    spec.shape[1:])


def import_weights(recipe, hparams, weights_path: str, model_dir: str,
                   class_names: list[str]) -> int:
  """Builds, fills and saves the model; returns the arrays loaded.

  Everything is validated before model_dir is touched.
  """
  import tensorflow as tf
  from data import keras_weights
  from engine import weight_transfer
  from trainers.common import session
  layers = keras_weights.read_layers(weights_path)
  spec = session.input_spec(recipe, hparams)
  trainer = session.make_trainer(recipe, hparams, tf.distribute.get_strategy(),
                                 model_dir, print_fn=None)
  trainer.build(spec)
  count = weight_transfer.assign_keras_layers(trainer.model, layers)
  artifacts = classes_artifact(recipe, hparams, spec[0], class_names)
  session.write_config(model_dir, recipe.name, hparams)
  session.write_artifacts(model_dir, artifacts)
  trainer.save()
  return count


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from trainers.common import session
  recipe, hparams = session.recipe_and_hparams(
      FLAGS.model, common_flags.hparam_overrides(), FLAGS.seed)
  if "pretrained" in hparams:
    hparams["pretrained"] = False   # the imported file holds every weight
  model_dir = os.path.abspath(FLAGS.model_dir or os.path.join(
      "runs", recipe.name))
  session.check_model_dir(model_dir, recipe.name)
  if os.path.isdir(model_dir) and session.read_config(model_dir):
    raise cli.UsageError(f"--model_dir {model_dir} already holds a run; "
                         "import into a new directory (nothing was changed)")
  class_names = FLAGS.class_names or default_class_names(recipe.name)
  count = import_weights(recipe, hparams, os.path.abspath(FLAGS.weights),
                         model_dir, class_names)
  print(f"imported {count} arrays from {FLAGS.weights} into {recipe.name}; "
        f"step-0 checkpoint in {model_dir}")


if __name__ == "__main__":
  cli.run(main)
