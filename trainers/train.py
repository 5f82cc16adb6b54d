r"""Trains a registered model: `python -m trainers.train --model=series_dnn`.

Prints a progress line per epoch (step/total, loss, metrics, ETA), writes
checkpoints and TensorBoard logs (train/, eval/) into --model_dir, and at
the end metrics.json (final metrics and history). Running the same command
again resumes where the last run stopped. `--export` then writes the
SavedModel to model_dir/export/<global step> (see trainers.export).
"""

from __future__ import annotations

import os

from absl import flags

from trainers.common import cli  # noqa: F401  (quiets TF logs before TF loads)
from trainers.common import flags as common_flags

common_flags.define_model_flag()
common_flags.define_model_dir_flag()
common_flags.define_hparam_flags()
common_flags.define_run_flags()
flags.DEFINE_bool("overwrite", False, "Discard checkpoints in --model_dir "
                  "that cannot be read instead of refusing to run (the run "
                  "then starts from the newest readable one, or step 0).")
flags.DEFINE_bool("export", False, "When training ends, export a SavedModel "
                  "to MODEL_DIR/export/<global step> (as trainers.export).")
FLAGS = flags.FLAGS


def make_hooks(recipe, hparams, data):
  """The recipe's own hooks, threshold stop (flag or the recipe's default)
  and early stopping."""
  from engine import hooks
  result = list(recipe.extra_hooks(hparams, data)) if recipe.extra_hooks else []
  target = ((FLAGS.target_metric, FLAGS.target_value)
            if FLAGS.target_metric else recipe.target)
  if target:
    result.append(hooks.StopAtThreshold(*target))
  if FLAGS.early_stopping_patience is not None:
    result.append(hooks.EarlyStopping("val_loss",
                                      FLAGS.early_stopping_patience))
  return result


def train(recipe, hparams, model_dir: str, strategy, lock) -> dict:
  """Runs training and returns what goes into metrics.json.

  Everything is validated (data, artifacts, the checkpoint against the
  model and optimizer) before `lock` is taken and model_dir is written.
  """
  from data.bundle import model_hparams
  from engine import checkpoint as checkpoint_lib
  from trainers.common import run_checks, session
  run_checks.check_vocabulary_unchanged(model_dir, hparams)
  data = recipe.make_data(session.data_hparams(hparams, model_dir))
  hparams = model_hparams(hparams, data.info)
  trainer = session.make_trainer(
      recipe, hparams, strategy, model_dir, FLAGS.optimizer, data.info,
      steps_per_loop=FLAGS.steps_per_loop,
      checkpoint_every=FLAGS.checkpoint_every,
      summary_every=FLAGS.summary_every,
      histogram_every=FLAGS.histogram_every, max_to_keep=FLAGS.max_to_keep)
  trainer.build(data.train(0).element_spec)
  if not FLAGS.overwrite:
    _check_latest(trainer, model_dir, hparams)
  run_checks.check_artifacts_unchanged(model_dir, data.artifacts)
  lock.acquire()
  if FLAGS.overwrite:
    checkpoint_lib.discard_unreadable(model_dir)
    _check_latest(trainer, model_dir, hparams)
  session.write_config(model_dir, recipe.name, hparams)
  session.write_artifacts(model_dir, data.artifacts)
  session.write_input_spec(model_dir, data.element_spec)
  budget = ({"train_steps": FLAGS.train_steps} if FLAGS.train_steps
            else {"epochs": hparams["epochs"]})
  from engine import hparams_summary
  from engine.interrupt import GracefulInterrupt
  hparams_summary.write_hparams(model_dir, run_hparams(recipe, hparams))
  hooks = make_hooks(recipe, hparams, data)
  profile = profile_hook(model_dir, data.steps_per_epoch)
  try:
    with GracefulInterrupt() as interrupt:
      history = trainer.fit(data.train, validation=data.validation,
                            steps_per_epoch=data.steps_per_epoch,
                            hooks=hooks + ([profile] if profile else []),
                            interrupt=interrupt, **budget)
  finally:
    if profile:
      profile.close()
  result = {"model": recipe.name, "steps": trainer.steps_done,
            "epochs": trainer.epochs_done,
            "train": history.last(), "stop_reason": history.stop_reason,
            "history": history.to_dict()["history"]}
  if data.validation is not None:
    result["validation"] = trainer.evaluate(data.validation)
  final = dict(result["train"])
  final.update({f"val_{k}": v for k, v in result.get("validation", {}).items()})
  hparams_summary.write_final_metrics(model_dir, final, trainer.steps_done)
  return result


def _check_latest(trainer, model_dir: str, hparams) -> None:
  """The checkpoint check; a mismatch also names the hyper-parameters that
  differ from the stored run's (the usual cause)."""
  from engine.errors import CheckpointMismatchError
  from trainers.common import run_checks
  try:
    trainer.checkpoint.check_latest()
  except CheckpointMismatchError as error:
    changed = run_checks.hparams_changed_since(model_dir, hparams)
    if not changed:
      raise
    raise CheckpointMismatchError(
        f"{error}. The run in {model_dir} was trained with other "
        f"hyper-parameters: {'; '.join(changed)}") from None


def run_hparams(recipe, hparams) -> dict:
  """What the HParams tab shows for this run: the model's hyper-parameters
  and the run flags that change training."""
  values = dict(hparams)
  values.update({"model": recipe.name,
                 "optimizer": FLAGS.optimizer or recipe.optimizer,
                 "steps_per_loop": FLAGS.steps_per_loop,
                 "mixed_precision": FLAGS.mixed_precision or "float32"})
  return values


def profile_hook(model_dir: str, steps_per_epoch: int | None):
  """The --profile_steps hook tracing into model_dir/train/, or None."""
  if not FLAGS.profile_steps:
    return None
  from engine.profiler import ProfileSteps
  start, stop = common_flags.profile_range(FLAGS.profile_steps)
  return ProfileSteps(os.path.join(model_dir, "train"), start, stop,
                      steps_per_epoch)


class _NoLock:
  """Workers other than the chief share the chief's lock."""

  def acquire(self) -> None:
    pass

  def release(self) -> None:
    pass


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from engine import distribute
  # First: a multi-worker strategy must exist before any TF op runs.
  strategy = distribute.get_strategy(FLAGS.strategy)
  from trainers.common import session
  recipe, hparams = session.recipe_and_hparams(
      FLAGS.model, common_flags.hparam_overrides(), FLAGS.seed,
      FLAGS.deterministic)
  model_dir = os.path.abspath(os.path.expanduser(
      FLAGS.model_dir or os.path.join("runs", recipe.name)))
  session.check_model_dir(model_dir, recipe.name)
  if FLAGS.mixed_precision:
    if (FLAGS.mixed_precision == "mixed_float16"
        and strategy.num_replicas_in_sync > 1):
      raise cli.UsageError(
          "--mixed_precision=mixed_float16 (dynamic loss scaling) runs on one "
          f"replica, but --strategy={FLAGS.strategy} has "
          f"{strategy.num_replicas_in_sync}; use mixed_bfloat16")
    hparams["mixed_precision"] = FLAGS.mixed_precision
  from engine.run_lock import RunLock
  lock = RunLock(model_dir) if distribute.is_chief(strategy) else _NoLock()
  try:
    result = train(recipe, hparams, model_dir, strategy, lock)
    path = session.update_metrics_file(model_dir, "train", result)
  finally:
    lock.release()
  final = result.get("validation") or result["train"]
  print(f"done: {result['steps']} steps, {result['epochs']} epochs; "
        + " - ".join(f"{k} {v:.4g}" for k, v in final.items())
        + f"; metrics in {path}")
  if FLAGS.export:
    from trainers.common.exporting import export_run
    print(f"SavedModel written to {export_run(model_dir)}")


if __name__ == "__main__":
  cli.run(main)
