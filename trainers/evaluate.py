r"""Evaluates a trained run: `python -m trainers.evaluate --model_dir=D`.

Restores the newest checkpoint, evaluates the validation split (or the
training data when the model has none), prints the metrics and stores them
under "evaluate" in model_dir/metrics.json. Text and series runs read only
the validation split, through the preprocessing saved in model_dir (the
tokenizer or subword vocabulary is never fitted again; series.json holds
the series); see trainers/common/test_data.py. For classifiers it also
prints the confusion matrix (rows: true class, columns: predicted) and the
class names.

With `--data_path=TEST` it scores a held-out test set instead (the course's
`model.evaluate(test_images, test_labels)`): MNIST-format IDX files, an
image folder of class sub-folders, an aclImdb test/ split, a BBC-format
CSV. The set is read with the TRAINED preprocessing (saved tokenizer, image
size, class names; see trainers/common/test_data.py), and the result is stored
under "test" in metrics.json, keyed by --split_name or the absolute path.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_string("data_path", None, "A held-out test set to score instead "
                    "of the validation split (IDX folder, image folder, "
                    "aclImdb test/ split, BBC-format CSV).")
flags.DEFINE_string("split_name", None, "The key of the test set's result "
                    "under \"test\" in metrics.json. Default: its absolute "
                    "path.")
flags.DEFINE_integer("batch_size", None, "Batch size of the scored data. "
                     "Default: the run's.")
flags.register_validator("batch_size", lambda v: v is None or v > 0,
                         message="--batch_size must be positive")
FLAGS = flags.FLAGS


def _stored_section(model_dir: str, section: str) -> dict:
  """A section of model_dir/metrics.json ({} when absent)."""
  import json
  import os
  from trainers.common import session
  path = os.path.join(model_dir, session.METRICS_FILE)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return dict(json.load(f).get(section, {}))


def evaluate_test_set(recipe, hparams, model_dir: str, path: str,
                      split_name: str | None, batch_size: int | None
                      ) -> None:
  """Scores a held-out test set; stores it under "test" in metrics.json."""
  import os
  from trainers.common import session
  from trainers.common.test_data import read_test_split
  dataset, class_names = read_test_split(recipe, hparams, model_dir, path,
                                         batch_size)
  trainer = session.restored_trainer(recipe, hparams, model_dir,
                                     dataset.element_spec)
  metrics = trainer.evaluate(dataset)
  key = split_name or os.path.abspath(path)
  result = {"data_path": os.path.abspath(path),
            "step": int(trainer.global_step.numpy()), **metrics}
  from trainers.common import reports
  confusion = reports.confusion_report(recipe, trainer, dataset, model_dir,
                                       class_names)
  result.update(confusion)
  tests = _stored_section(model_dir, "test")
  tests[key] = result
  written = session.update_metrics_file(model_dir, "test", tests)
  print(f"{recipe.name} at step {result['step']} on test set {key}: "
        + " - ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
  if confusion:
    from engine.classification import format_confusion
    print(format_confusion(confusion))
  print(f"written to {written}")


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from trainers.common import reports
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  if FLAGS.data_path:
    evaluate_test_set(recipe, hparams, FLAGS.model_dir, FLAGS.data_path,
                      FLAGS.split_name, FLAGS.batch_size)
    return
  from trainers.common.test_data import scored_split
  dataset, split, class_names = scored_split(recipe, hparams,
                                             FLAGS.model_dir,
                                             FLAGS.batch_size)
  trainer = session.restored_trainer(
      recipe, hparams, FLAGS.model_dir,
      session.input_spec(recipe, hparams, FLAGS.model_dir))
  metrics = trainer.evaluate(dataset)
  result = {"split": split, "step": int(trainer.global_step.numpy()),
            **metrics}
  confusion = reports.confusion_report(recipe, trainer, dataset,
                                       FLAGS.model_dir, class_names)
  result.update(confusion)
  path = session.update_metrics_file(FLAGS.model_dir, "evaluate", result)
  print(f"{recipe.name} at step {result['step']} on the {split} split: "
        + " - ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
  if confusion:
    from engine.classification import format_confusion
    print(format_confusion(confusion))
  print(f"written to {path}")


if __name__ == "__main__":
  cli.run(main)
