r"""Classifies sentences with a trained text model.

    python -m trainers.predict_text --model_dir=runs/bbc_embedding \
        "the striker scored twice" "shares fell sharply"

Restores the newest checkpoint of a classification run (bbc_embedding, the
imdb_* models, sentiment_glove) and encodes each sentence exactly as the
training data was (tokenizer, padding and length saved in model_dir). Prints
one line per sentence: the class name, its probability, and the sentence.
For a one-output sigmoid model the class is the positive one when its
probability is at least 0.5, and the probability shown is that of the
printed class.

`--saved_model=DIR` classifies with an exported SavedModel instead (see
trainers.export): the raw sentences go to its serving signature, which
tokenizes them in the graph; the output is the same.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag()
flags.DEFINE_string("saved_model", None, "An exported SavedModel folder to "
                    "use instead of --model_dir.")
flags.DEFINE_integer("batch_size", 256, "Sentences per inference batch.")
flags.register_validator("batch_size", lambda v: v > 0,
                         message="--batch_size must be positive")
flags.register_multi_flags_validator(
    ["model_dir", "saved_model"],
    lambda d: (d["model_dir"] is None) != (d["saved_model"] is None),
    message="give --model_dir or --saved_model (one of them)")
FLAGS = flags.FLAGS


def restore_classifier(model_dir: str):
  """(recipe, InferenceEncoder, Trainer) of the classification run.

  Raises:
    UsageError: no trained run, or a run that is not a text classifier.
  """
  from trainers.common import restore
  run = restore.restore_text_run(model_dir, "trainers.predict_text",
                                 "a text classifier")
  if not run.encoder.class_names:
    raise cli.UsageError(
        f"model {run.recipe.name!r} in {model_dir} is a text generator, not "
        f"a classifier; use trainers.generate for it")
  return run.recipe, run.encoder, run.trainer


def model_dir_outputs(model_dir: str, sentences: Sequence[str]):
  """(probabilities, class names, known words per sentence), encoding as the
  training data was."""
  import tensorflow as tf
  from data.text import graph_tokenizer
  from trainers.common import session
  _, encoder, trainer = restore_classifier(model_dir)
  _, hparams = session.load_run(model_dir)
  ids = encoder.encode(graph_tokenizer.prepare_texts(
      sentences, **graph_tokenizer.text_options(hparams)))
  outputs = trainer.predict(
      tf.data.Dataset.from_tensor_slices(ids).batch(FLAGS.batch_size))
  from trainers.common.text_predictions import known_words
  known = known_words(ids, getattr(encoder.tokenizer, "oov_index", None))
  return outputs, encoder.class_names, known


def saved_model_outputs(export_dir: str, sentences: Sequence[str]):
  """(probabilities, class names) from an exported text classifier."""
  from trainers.common import saved_models
  loaded = saved_models.load(export_dir, "texts")
  outputs = [saved_models.call(
      loaded, texts=list(sentences[start:start + FLAGS.batch_size])
  )["probabilities"] for start in range(0, len(sentences), FLAGS.batch_size)]
  return np.concatenate(outputs), saved_models.class_names(loaded)


def main(argv):
  sentences = argv[1:]
  if not sentences:
    raise cli.UsageError('give sentences to classify after the flags, e.g. '
                         'trainers.predict_text --model_dir=D "great film"')
  from engine import classification
  from trainers.common.text_predictions import prediction_line
  known = None
  if FLAGS.saved_model:
    outputs, class_names = saved_model_outputs(FLAGS.saved_model, sentences)
  else:
    outputs, class_names, known = model_dir_outputs(FLAGS.model_dir,
                                                    sentences)
  for index, (name, probability) in enumerate(
      classification.decode(outputs, class_names)):
    known_count = None if known is None else int(known[index])
    print(prediction_line(name, probability, sentences[index], known_count))


if __name__ == "__main__":
  cli.run(main)
