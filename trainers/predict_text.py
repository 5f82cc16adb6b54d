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
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_integer("batch_size", 256, "Sentences per inference batch.")
flags.register_validator("batch_size", lambda v: v > 0,
                         message="--batch_size must be positive")
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


def main(argv):
  sentences = argv[1:]
  if not sentences:
    raise cli.UsageError('give sentences to classify after the flags, e.g. '
                         'trainers.predict_text --model_dir=D "great film"')
  import tensorflow as tf
  from engine import classification
  _, encoder, trainer = restore_classifier(FLAGS.model_dir)
  ids = encoder.encode(sentences)
  outputs = trainer.predict(
      tf.data.Dataset.from_tensor_slices(ids).batch(FLAGS.batch_size))
  from trainers.text_predictions import known_words, prediction_line
  counts = known_words(ids, encoder.tokenizer.oov_index)
  for sentence, known, (name, probability) in zip(
      sentences, counts,
      classification.decode(outputs, encoder.class_names)):
    print(prediction_line(name, probability, sentence, int(known)))


if __name__ == "__main__":
  cli.run(main)
