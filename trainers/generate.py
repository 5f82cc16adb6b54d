r"""Writes text with a trained generator: `trainers.generate --model_dir=D`.

    python -m trainers.generate --model_dir=runs/sonnets_generator \
        --seed_text="Help me Obi Wan Kenobi, you're my only hope" \
        --next_words=100

Restores the newest checkpoint of a `sonnets_generator` or `char_generator`
run and encodes the seed text with the tokenizer saved in model_dir, so
only --model_dir is needed. Decoding is greedy (the most likely token each
step, as the course's `predict_classes`) unless --temperature > 0, which
samples, optionally among the --top_k most likely tokens; --seed repeats a
sampled text.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_string("seed_text", None, "Text to continue. Default: the "
                    "run's sample_seed_text hyper-parameter.")
flags.DEFINE_integer("next_words", 20, "Tokens to add (characters for "
                     "char_generator).")
flags.DEFINE_float("temperature", 0.0, "0: greedy decoding; > 0: sample "
                   "from p ** (1 / temperature) (lower is more conservative).")
flags.DEFINE_integer("top_k", 0, "With --temperature > 0, sample only among "
                     "the k most likely tokens (0: all).")
flags.DEFINE_integer("seed", None, "Seed for sampling, to repeat a run.")
flags.register_validator("next_words", lambda v: v >= 0,
                         message="--next_words must be >= 0")
flags.register_validator("temperature", lambda v: v >= 0,
                         message="--temperature must be >= 0")
flags.register_validator("top_k", lambda v: v >= 0,
                         message="--top_k must be >= 0")
FLAGS = flags.FLAGS


def restore_generator(model_dir: str):
  """(recipe, hparams, TextGenerator) of the generator run in model_dir.

  Raises:
    UsageError: no trained run in model_dir, or a run that is not a text
      generator.
  """
  from models import text
  from trainers.common import restore
  run = restore.restore_text_run(
      model_dir, "trainers.generate",
      "a sonnets_generator or char_generator")
  if "total_words" not in run.encoder.config:
    raise cli.UsageError(
        f"model {run.recipe.name!r} in {model_dir} is a classifier, not a "
        f"text generator; use trainers.predict_text for it")
  generator = text.TextGenerator(run.trainer.model, run.encoder.tokenizer,
                                 run.encoder.max_length)
  return run.recipe, run.hparams, generator


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}; "
                         "quote the seed text: --seed_text=\"...\"")
  _, hparams, generator = restore_generator(FLAGS.model_dir)
  seed_text = FLAGS.seed_text
  if seed_text is None:
    seed_text = str(hparams.get("sample_seed_text", ""))
  if not seed_text.strip():
    raise cli.UsageError("--seed_text is empty; give the text to continue")
  print(generator.generate(seed_text, FLAGS.next_words,
                           temperature=FLAGS.temperature, top_k=FLAGS.top_k,
                           seed=FLAGS.seed))


if __name__ == "__main__":
  cli.run(main)
