r"""Prints a model's layer table: `python -m trainers.summary --model=NAME`.

Like Keras's model.summary(): layer, type, output shape, params, and the
total / trainable / non-trainable counts. Size flags (--vocab_size,
--max_length, ...) change the model as they would in training.
`--model=help` lists every registered model and its hyper-parameters.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_flag()
common_flags.define_hparam_flags()
FLAGS = flags.FLAGS


def list_models() -> None:
  """Prints each registered model with its description and hparams."""
  from models import registry
  for name in registry.names():
    recipe = registry.get(name)
    print(f"{name}: {recipe.description}")
    print("    " + ", ".join(f"{k}={v}" for k, v in recipe.hparams.items()))


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.model == "help":
    list_models()
    return
  import tensorflow as tf
  from models import registry
  from trainers.common import session
  recipe = registry.get(FLAGS.model)
  hparams = session.resolve_hparams(recipe, common_flags.hparam_overrides())
  features = session.input_spec(recipe, hparams)[0]
  model = recipe.build_model(hparams)
  print(f"Model: {recipe.name} - {recipe.description}")
  model.summary(features.shape[1:], features.dtype)


if __name__ == "__main__":
  cli.run(main)
