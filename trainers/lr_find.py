r"""The course's learning-rate sweep: `python -m trainers.lr_find --model=NAME`.

Trains a fresh copy of the model for --epochs epochs while the learning rate
grows as `lr0 * 10**(epoch / epochs_per_decade)` (the course's
`LearningRateScheduler(lambda epoch: 1e-8 * 10**(epoch / 20))`), logs the
loss against the learning rate (TensorBoard scalars `loss` and
`learning_rate` per epoch, plus `loss_vs_lr` whose step is
round(100 * log10(lr)), so the chart's x axis is the learning rate's
exponent), prints the suggested rate and, with the `plots` extra installed,
writes `lr_find.png`. Nothing is checkpointed.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_flag()
common_flags.define_model_dir_flag()
common_flags.define_hparam_flags()
flags.DEFINE_float("lr0", 1e-8, "Learning rate of the first epoch.")
flags.DEFINE_float("epochs_per_decade", 20.0,
                   "Epochs over which the rate grows tenfold.")
common_flags.define_seed_flag("weights and data order")
flags.register_validator("lr0", lambda v: 0 < v < math.inf,
                         "--lr0 must be positive and finite")
flags.register_validator("epochs_per_decade", lambda v: v > 0,
                         "--epochs_per_decade must be positive")
FLAGS = flags.FLAGS


def sweep_rate(lr0: float, epoch: int, epochs_per_decade: float) -> float:
  """lr0 * 10**(epoch / epochs_per_decade); inf when it overflows."""
  try:
    return lr0 * 10 ** (epoch / epochs_per_decade)
  except OverflowError:
    return math.inf


def log_sweep(logdir: str, lrs, losses) -> None:
  """TensorBoard scalars: per epoch, and against log10(lr)."""
  import tensorflow as tf
  writer = tf.summary.create_file_writer(logdir)
  with writer.as_default():
    for epoch, (lr, loss) in enumerate(zip(lrs, losses)):
      tf.summary.scalar("learning_rate", lr, step=epoch)
      tf.summary.scalar("loss", loss, step=epoch)
      tf.summary.scalar("loss_vs_lr", loss,
                        step=int(round(100 * math.log10(lr))))
  writer.close()


def plot(path: str, lrs, losses, suggestion: float) -> bool:
  """Writes the course's semilogx plot; False if matplotlib is missing."""
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    return False
  fig, ax = plt.subplots(figsize=(8, 5))
  ax.semilogx(lrs, losses)
  ax.axvline(suggestion, linestyle="--", color="gray")
  ax.set_xlabel("learning rate")
  ax.set_ylabel("loss")
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return True


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  import tensorflow as tf
  from engine import hooks
  from trainers.common import session
  recipe, hparams = session.recipe_and_hparams(
      FLAGS.model, common_flags.hparam_overrides(), FLAGS.seed)
  logdir = FLAGS.model_dir or os.path.join("runs", recipe.name + "_lr_find")
  last_lr = sweep_rate(FLAGS.lr0, hparams["epochs"] - 1,
                       FLAGS.epochs_per_decade)
  if not math.isfinite(last_lr):
    raise cli.UsageError(
        f"--lr0={FLAGS.lr0:.3g} grows past the largest float within "
        f"{hparams['epochs']} epochs; lower --lr0 or raise "
        "--epochs_per_decade")
  from data.bundle import model_hparams
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  trainer = session.make_trainer(recipe, hparams, tf.distribute.get_strategy(),
                                 None, data_info=data.info, print_fn=None,
                                 on_nan="stop")
  schedule = lambda e: sweep_rate(FLAGS.lr0, e, FLAGS.epochs_per_decade)
  history = trainer.fit(data.train, epochs=hparams["epochs"],
                        steps_per_epoch=data.steps_per_epoch,
                        hooks=[hooks.LearningRateSchedule(schedule)])
  if not history.history.get("lr"):
    raise cli.UsageError(
        f"the sweep diverged in its first epoch (lr {FLAGS.lr0:.3g}): "
        f"{history.stop_reason}; start lower with --lr0")
  lrs = np.array(history.history["lr"])
  losses = np.array(history.history["loss"])
  from engine.lr_sweep import suggest_learning_rate
  suggestion = suggest_learning_rate(lrs, losses)
  os.makedirs(logdir, exist_ok=True)
  log_sweep(logdir, lrs, losses)
  from engine import hparams_summary
  hparams_summary.write_hparams(logdir, {
      **hparams, "model": recipe.name, "lr0": FLAGS.lr0,
      "epochs_per_decade": FLAGS.epochs_per_decade})
  hparams_summary.write_final_metrics(logdir, {
      "suggested_learning_rate": suggestion,
      "lowest_loss": float(np.nanmin(losses))}, len(lrs))
  with open(os.path.join(logdir, "lr_find.json"), "w") as f:
    json.dump({"lr": lrs.tolist(), "loss": losses.tolist(),
               "suggested_learning_rate": suggestion}, f, indent=1)
  png = os.path.join(logdir, "lr_find.png")
  plotted = plot(png, lrs, losses, suggestion)
  print(f"swept {len(lrs)} epochs from lr {lrs[0]:.3g} to {lrs[-1]:.3g}; "
        f"lowest loss {np.nanmin(losses):.4g}")
  print(f"suggested learning rate: {suggestion:.3g}")
  print(f"logs in {logdir}" + (f"; plot {png}" if plotted else
                               " (install the plots extra for a PNG)"))


if __name__ == "__main__":
  cli.run(main)
