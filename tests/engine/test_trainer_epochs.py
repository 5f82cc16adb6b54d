"""Several epochs per graph call: the same results as one epoch per call.

The trainer runs whole epochs and their validation in one tf.function
call when no eager work is due between them (engine/trainer.py,
`_epochs_per_call`); a hook makes every epoch due, which gives the
one-epoch-per-call reference.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from data.bundle import EpochData
from engine import hooks
from engine.optimizers import Adam
from tests.engine.test_trainer import (chained_data_fn, data_fn, make_data,
                                       make_trainer, weights)

STEPS_PER_EPOCH = 3  # 10 examples, batch 4


def fit(model_dir=None, per_epoch=False, epochs=12, data=None, **kwargs):
  """A trainer fitted on chained data with validation; `per_epoch` adds a
  hook, so every epoch is its own loop call (the reference)."""
  kwargs.setdefault("progress_interval", 1e6)
  trainer = make_trainer(model_dir=model_dir, optimizer=Adam, lr=0.01,
                         steps_per_loop=STEPS_PER_EPOCH, **kwargs)
  calls = []
  choose = trainer._epochs_per_call
  trainer._epochs_per_call = lambda run, at: calls.append(
      choose(run, at)) or calls[-1]
  history = trainer.fit(data or chained_data_fn(), epochs=epochs,
                        steps_per_epoch=STEPS_PER_EPOCH,
                        validation=data_fn(batch_size=3, shuffle=False)(0),
                        hooks=[hooks.Hook()] if per_epoch else ())
  return trainer, history, calls


def _scalars(logdir, skip=("steps_per_sec", "examples_per_sec")):
  values = {}
  for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    for tag in acc.Tags()["tensors"]:
      if tag not in skip and tag != "train_step":
        for event in acc.Tensors(tag):
          values[(tag, event.step)] = tf.make_ndarray(
              event.tensor_proto).tolist()
  return values


@pytest.mark.parametrize("checkpoint_every, calls", [
    (6, [1, 1, 2, 2, 2, 2, 2]),  # a save at every 2nd epoch's end
    (7, [1, 1, 1, 1, 1, 2, 2, 1, 1, 1]),  # one per call around mid-epoch saves
], ids=["at_epoch_ends", "mid_epoch"])
def test_epochs_in_one_call_equal_one_epoch_per_call(tmp_path,
                                                     checkpoint_every, calls):
  runs = {}
  for name, per_epoch in (("multi", False), ("single", True)):
    model_dir = str(tmp_path / name)
    trainer, history, made = fit(model_dir, per_epoch,
                                 checkpoint_every=checkpoint_every,
                                 max_to_keep=100, summary_every=1)
    runs[name] = (trainer, history, made, model_dir)
  multi, single = runs["multi"], runs["single"]
  assert multi[2] == calls and single[2] == [1] * 12
  assert multi[0]._epochs_loop.experimental_get_tracing_count() == 1
  assert single[0]._epochs_loop.experimental_get_tracing_count() == 0
  assert multi[1].history == single[1].history  # bit-exact, val_* too
  for a, b in zip(weights(multi[0]), weights(single[0])):
    np.testing.assert_array_equal(a, b)
  for sub in ("train", "eval"):  # per-epoch scalars, histograms, step_loss
    assert _scalars(os.path.join(multi[3], sub)) == _scalars(
        os.path.join(single[3], sub))
  checkpoints = [sorted(os.path.basename(f) for f in glob.glob(
      os.path.join(run[3], "ckpt-*.index"))) for run in (multi, single)]
  assert checkpoints[0] == checkpoints[1]


@pytest.mark.parametrize("model_dir, checkpoint_every, histogram_every, calls", [
    (False, None, None, [1, 11]),  # nothing due: one call to the end
    (True, None, None, [1, 9, 2]),  # histograms after epochs 10 and 12
    (True, None, 9, [1, 2, 3, 3, 3]),  # histograms when a step crosses 9k
], ids=["no_model_dir", "default_histograms", "histogram_every"])
def test_a_call_ends_where_eager_work_is_due(tmp_path, model_dir,
                                             checkpoint_every,
                                             histogram_every, calls):
  _, history, made = fit(str(tmp_path) if model_dir else None,
                         checkpoint_every=checkpoint_every,
                         histogram_every=histogram_every, summary_every=1000)
  assert made == calls and sum(made) == 12 == len(history.epoch)


def test_progress_interval_short_fits_and_a_step_budget_bound_the_call():
  trainer, _, calls = fit(progress_interval=0.0)
  assert calls == [1] * 12  # no call may outlast a progress line
  trainer, _, calls = fit(epochs=4)
  assert calls == [1] * 4  # not worth compiling the multi-epoch function
  assert trainer._epochs_loop.experimental_get_tracing_count() == 0
  trainer = make_trainer(optimizer=Adam, lr=0.01, steps_per_loop=3,
                         progress_interval=1e6)
  trainer.fit(chained_data_fn(), train_steps=20, steps_per_epoch=3)
  assert trainer.steps_done == 20 and trainer.epochs_done == 6


def test_nan_inside_a_call_stops_at_the_same_epoch_as_per_epoch_calls():
  x, y = make_data()

  def labels_nan_from_epoch_5(epoch):
    poison = tf.where(epoch >= 5, np.float32(np.nan), np.float32(1.0))
    return tf.data.Dataset.from_tensor_slices((x, y)).map(
        lambda a, b: (a, b * poison)).batch(4)

  results = []
  for per_epoch in (False, True):
    trainer, history, calls = fit(per_epoch=per_epoch, on_nan="stop",
                                  data=EpochData(labels_nan_from_epoch_5))
    results.append((history.epoch, history.history, history.stop_reason,
                    trainer.position(), weights(trainer)))
    if not per_epoch:
      assert max(calls) > 1
  multi, single = results
  assert multi[0] == single[0] == [0, 1, 2, 3, 4]
  assert multi[1:4] == single[1:4] and "loss became nan" in multi[2]


def test_epochs_in_one_call_under_mirrored_equal_one_epoch_per_call():
  from tests import testing
  strategy = testing.mirrored_strategy()
  results = []
  for per_epoch in (False, True):
    trainer, history, calls = fit(per_epoch=per_epoch, epochs=6,
                                  strategy=strategy)
    results.append((history.history, weights(trainer), calls))
  assert results[0][2] == [1, 5] and results[1][2] == [1] * 6
  assert results[0][0] == results[1][0]
  for a, b in zip(results[0][1], results[1][1]):
    np.testing.assert_array_equal(a, b)


def test_resume_between_multi_epoch_calls_equals_uninterrupted(tmp_path):
  whole, _, calls = fit(epochs=12)
  assert max(calls) > 1
  fit(str(tmp_path), epochs=6)
  resumed, history, calls = fit(str(tmp_path), epochs=12)
  assert max(calls) > 1 and history.epoch == list(range(12))
  for a, b in zip(weights(whole), weights(resumed)):
    np.testing.assert_array_equal(a, b)
