r"""Evaluates a trained run: `python -m trainers.evaluate --model_dir=D`.

Restores the newest checkpoint, evaluates the validation split (or the
training data when the model has none), prints the metrics and stores them
under "evaluate" in model_dir/metrics.json; for classifiers also the
confusion matrix (rows: true class, columns: predicted) and class names.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from trainers.common import reports
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  data = recipe.make_data(hparams)
  trainer = session.restored_trainer(recipe, hparams, FLAGS.model_dir,
                                     data.element_spec)
  dataset = data.validation if data.validation is not None else data.train(0)
  split = "validation" if data.validation is not None else "train"
  metrics = trainer.evaluate(dataset)
  result = {"split": split, "step": int(trainer.global_step.numpy()),
            **metrics}
  confusion = reports.confusion_report(recipe, trainer, dataset,
                                       FLAGS.model_dir,
                                       data.info.class_names)
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
