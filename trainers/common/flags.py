"""Flag definitions shared by the binaries, and their up-front validation.

Every flag is documented (`--helpfull`) and can come from `--flagfile`.
Values are validated before any work starts, so a bad value costs nothing
and leaves model_dir untouched.
"""

from __future__ import annotations

from absl import flags

from engine.optimizer_names import OPTIMIZER_NAMES
from engine.strategy_names import STRATEGY_NAMES

SEED = 42

FLAGS = flags.FLAGS

# Hyper-parameter flags: unset (None) means "the model's default". The name
# is the hparams key, the same name the course's code uses.
HPARAM_FLAGS = {
    "learning_rate": (float, "Optimizer learning rate."),
    "batch_size": (int, "Global batch size (split over replicas)."),
    "epochs": (int, "Passes over the training data."),
    "window_size": (int, "Time series: inputs per window."),
    "shuffle_buffer": (int, "Shuffle buffer size."),
    "split_time": (int, "Time series: index where validation starts."),
    "value_column": (str, "CSV column (name or 0-based index) of the values."),
    "vocab_size": (int, "Text: vocabulary size (the course's vocab_size; "
                        "the generator's total_words)."),
    "embedding_dim": (int, "Text: embedding width (the course's "
                           "embedding_dim)."),
    "max_length": (int, "Text: padded sequence length (the course's "
                        "max_length)."),
    "tokenizer": (str, "Text classifiers: word (index whole words) or "
                       "subword (learn a subword vocabulary of --vocab_size "
                       "ids, tokenized inside tf.data)."),
    "image_size": (int, "Images: side length images are resized to."),
    "validation_dir": (str, "Images: folder of validation images, one "
                            "sub-folder per class."),
    "validation_split": (float, "Fraction of the training data (the last "
                                "part) held out for validation."),
    "pretrained_weights": (str, "Transfer models: a local copy of the "
                                "base's Keras weights file."),
}
# Boolean hyper-parameter flags (--augment / --noaugment); unset = default.
BOOL_HPARAM_FLAGS = {
    "augment": "Images: the course's on-the-fly augmentation of training "
               "batches (rotation, shifts, shear, zoom, flip).",
    "strict_data": "Images: fail on a corrupt or empty image file instead "
                   "of skipping and counting it.",
}
POSITIVE_HPARAMS = ("learning_rate", "batch_size", "epochs", "window_size",
                    "shuffle_buffer", "split_time", "vocab_size",
                    "embedding_dim", "max_length", "image_size")


def define_model_flag(required: bool = True) -> None:
  """--model: a registry name."""
  flags.DEFINE_string("model", None, "Registered model name, e.g. series_dnn "
                      "(trainers.summary --model=help lists them).")
  if required:
    flags.mark_flag_as_required("model")


def define_model_dir_flag(default: str | None = None,
                          required: bool = False) -> None:
  """--model_dir: checkpoints, train/ eval/ logs, metrics.json, config."""
  flags.DEFINE_string(
      "model_dir", default, "Directory for checkpoints, TensorBoard logs "
      "(train/, eval/), metrics.json and what inference needs. Re-running "
      "with the same directory resumes the run.")
  if required:
    flags.mark_flag_as_required("model_dir")
  flags.register_validator(
      "model_dir", lambda v: v is None or bool(v.strip()),
      message="--model_dir is empty; name a directory, or leave the flag "
              "out for the default")


def define_hparam_flags() -> None:
  """One optional flag per hyper-parameter, plus --data_path and --hparam."""
  for name, (kind, help_text) in HPARAM_FLAGS.items():
    define = {int: flags.DEFINE_integer, float: flags.DEFINE_float,
              str: flags.DEFINE_string}[kind]
    define(name, None, help_text + " Default: the model's own.")
  for name, help_text in BOOL_HPARAM_FLAGS.items():
    flags.DEFINE_bool(name, None, help_text + " Default: the model's own.")
  flags.DEFINE_string("data_path", None, "Data file or directory to train "
                      "on instead of the model's built-in/default data.")
  flags.DEFINE_multi_string(
      "hparam", [], "Any other hyper-parameter as key=value (repeatable); "
      "trainers.summary --model=NAME lists a model's hyper-parameters.")
  flags.register_validator(
      "tokenizer", lambda v: v is None or v in ("word", "subword"),
      message="--tokenizer must be word or subword")
  for name in POSITIVE_HPARAMS:
    flags.register_validator(
        name, lambda v: v is None or 0 < v < float("inf"),
        message=f"--{name} must be positive and finite")
  flags.register_validator(
      "data_path", lambda v: v is None or bool(v.strip()),
      message="--data_path is empty; name a file or directory, or leave the "
              "flag out for the model's default data")


def define_seed_flag(what: str = "weights, data order and noise") -> None:
  """--seed, the one definition every binary shares (default SEED)."""
  flags.DEFINE_integer("seed", SEED, f"Seed for {what}; the same seed "
                       "repeats the run.")


def define_run_flags() -> None:
  """Flags of a training run: budget, loop, strategy, seeds, intervals."""
  flags.DEFINE_integer("train_steps", None, "Total training steps; overrides "
                       "--epochs (the data repeats as needed).")
  flags.DEFINE_enum("optimizer", None, list(OPTIMIZER_NAMES),
                    "Optimizer. Default: the model's own.")
  flags.DEFINE_integer("steps_per_loop", 100, "Training steps per compiled "
                       "loop call (one tf.function call).")
  flags.DEFINE_enum("strategy", "default", list(STRATEGY_NAMES),
                    "tf.distribute strategy.")
  define_seed_flag()
  flags.DEFINE_bool("deterministic", False,
                    "Turn on TensorFlow op determinism (slower).")
  flags.DEFINE_integer("checkpoint_every", 500, "Save a checkpoint every N "
                       "steps (and always at the end).")
  flags.DEFINE_integer("summary_every", 100,
                       "Write scalar summaries every N steps.")
  flags.DEFINE_integer("histogram_every", None, "Write weight histograms "
                       "every N steps (default: every 10th epoch's end and "
                       "the last epoch's).")
  flags.DEFINE_string("target_metric", None, "Stop once this logged metric "
                      "reaches --target_value (e.g. accuracy, val_mae).")
  flags.DEFINE_float("target_value", None, "Threshold for --target_metric.")
  flags.DEFINE_integer("early_stopping_patience", None, "Stop when val_loss "
                       "has not improved for this many epochs.")
  flags.DEFINE_integer("max_to_keep", 5, "Checkpoints kept in model_dir.")
  flags.DEFINE_string("profile_steps", None, "START,STOP: capture a "
                      "TensorFlow profiler trace from global step START to "
                      "STOP (widened to epoch boundaries) into "
                      "model_dir/train/ for TensorBoard's Profile tab.")
  flags.DEFINE_enum("mixed_precision", None,
                    ["mixed_bfloat16", "mixed_float16"],
                    "Compute in bfloat16/float16, keep variables, optimizer "
                    "state, softmax/sigmoid outputs and losses in float32; "
                    "mixed_float16 adds dynamic loss scaling.")
  for name in ("train_steps", "steps_per_loop", "checkpoint_every",
               "summary_every", "histogram_every", "max_to_keep"):
    flags.register_validator(name, lambda v: v is None or v > 0,
                             message=f"--{name} must be positive")
  flags.register_validator(
      "early_stopping_patience", lambda v: v is None or v >= 0,
      message="--early_stopping_patience must be >= 0")
  flags.register_validator(
      "profile_steps", lambda v: v is None or profile_range(v) is not None,
      message="--profile_steps expects START,STOP with 0 <= START < STOP, "
              "e.g. 10,20")
  flags.register_multi_flags_validator(
      ["target_metric", "target_value"],
      lambda d: (d["target_metric"] is None) == (d["target_value"] is None),
      message="--target_metric and --target_value go together")


def profile_range(text: str) -> tuple[int, int] | None:
  """(START, STOP) from "START,STOP", or None if malformed."""
  parts = text.split(",")
  try:
    start, stop = (int(p) for p in parts)
  except ValueError:
    return None
  return (start, stop) if 0 <= start < stop else None


def hparam_overrides() -> dict:
  """Hyper-parameters the user set on the command line."""
  overrides = {name: getattr(FLAGS, name)
               for name in (*HPARAM_FLAGS, *BOOL_HPARAM_FLAGS)
               if getattr(FLAGS, name) is not None}
  if FLAGS.data_path is not None:
    overrides["data_path"] = FLAGS.data_path
  for item in FLAGS.hparam:
    key, sep, value = item.partition("=")
    if not sep or not key:
      from trainers.common.cli import UsageError
      raise UsageError(f"--hparam expects key=value, got {item!r}")
    overrides[key.strip()] = value.strip()
  return overrides
