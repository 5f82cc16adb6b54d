"""The training loop: in-graph loop, distribution, resume, NaN guard, logs."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from data.bundle import EpochData
from engine import hooks
from engine.errors import CheckpointMismatchError, NonFiniteLossError
from engine.modules.dense import Dense
from engine.modules.sequential import Sequential
from engine.optimizers import SGD, Adam
from engine.trainer import Trainer
from tests import testing

FEATURES = 3


def make_data(n=10, seed=0):
  rng = np.random.RandomState(seed)
  x = rng.randn(n, FEATURES).astype(np.float32)
  y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(
      np.float32)
  return x, y


def data_fn(batch_size=4, n=10, shuffle=True):
  x, y = make_data(n)

  def make(epoch):
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
      ds = ds.shuffle(n, seed=100 + epoch, reshuffle_each_iteration=False)
    return ds.batch(batch_size)
  return make


def make_trainer(strategy=None, model_dir=None, lr=0.05, l2=0.0,
                 optimizer=SGD, **kwargs):
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    tf.random.set_seed(1)
    model = Sequential([Dense(4, activation="tanh", kernel_l2=l2),
                        Dense(1, kernel_l2=l2)])
    opt = optimizer(learning_rate=lr)
    kwargs.setdefault("print_fn", None)
    return Trainer(model, "mse", opt, ["mae"], strategy=strategy,
                   model_dir=model_dir, **kwargs)


def weights(trainer):
  return [v.numpy() for v in trainer.model.trainable_variables]


def test_fit_lowers_loss_and_records_history():
  trainer = make_trainer()
  history = trainer.fit(data_fn(), epochs=30)
  loss = history.history["loss"]
  assert len(loss) == 30 and history.epoch == list(range(30))
  assert loss[-1] < 0.2 * loss[0]
  assert set(history.history) == {"loss", "mae", "lr"}
  assert int(trainer.global_step.numpy()) == 30 * 3


def test_loop_is_traced_once_across_epochs_and_chunk_sizes(tmp_path):
  trainer = make_trainer(model_dir=str(tmp_path), steps_per_loop=2,
                         summary_every=1)
  trainer.fit(data_fn(), epochs=3, validation=data_fn(shuffle=False)(0))
  assert trainer._train_loop.experimental_get_tracing_count() == 1
  assert trainer._eval_loop.experimental_get_tracing_count() == 1


def test_predict_does_not_trace_once_per_batch_size():
  trainer = make_trainer()
  x, _ = make_data(n=15)
  sizes = tf.data.Dataset.from_tensor_slices(x).batch(1)
  for size in (2, 3, 4, 5):
    sizes = sizes.concatenate(tf.data.Dataset.from_tensor_slices(x).batch(
        size).take(1))
  assert trainer.predict(sizes).shape == (15 + 2 + 3 + 4 + 5, 1)
  assert trainer._predict_fn.experimental_get_tracing_count() <= 2


def test_loop_rejects_python_num_steps():
  trainer = make_trainer()
  trainer.build(data_fn()(0).element_spec)
  with pytest.raises(ValueError, match="must be a tensor"):
    trainer._train_loop(iter(data_fn()(0)), 3)


@pytest.mark.parametrize("l2", [0.0, 0.01], ids=["plain", "l2"])
def test_mirrored_epoch_equals_single_device(l2):
  """10 examples, global batch 4: batches 4, 4, 2 (uneven last split)."""
  single = make_trainer(l2=l2)
  single.fit(data_fn(shuffle=False), epochs=1)
  mirrored = make_trainer(testing.mirrored_strategy(), l2=l2)
  mirrored.fit(data_fn(shuffle=False), epochs=1)
  for a, b in zip(weights(single), weights(mirrored)):
    testing.assert_allclose(a, b, atol=1e-6)
  assert mirrored.loss_metric.result().numpy() == pytest.approx(
      single.loss_metric.result().numpy(), rel=1e-5)


def test_mirrored_evaluate_and_predict_equal_single_device():
  single, mirrored = make_trainer(), make_trainer(testing.mirrored_strategy())
  ds = data_fn(batch_size=4, n=7, shuffle=False)(0)
  single.build(ds.element_spec)
  mirrored.build(ds.element_spec)
  for src, dst in zip(single.model.variables, mirrored.model.variables):
    dst.assign(src)
  e1, e2 = single.evaluate(ds), mirrored.evaluate(ds)
  assert e1 == pytest.approx(e2, rel=1e-5)
  testing.assert_allclose(single.predict(ds), mirrored.predict(ds))
  assert single.predict(ds).shape == (7, 1)


def test_resume_mid_epoch_equals_uninterrupted(tmp_path):
  full = make_trainer(optimizer=Adam, lr=0.01)
  full.fit(data_fn(), train_steps=8)
  first = make_trainer(model_dir=str(tmp_path), optimizer=Adam, lr=0.01,
                       checkpoint_every=1)
  first.fit(data_fn(), train_steps=4)   # stops inside epoch 1 (3 per epoch)
  assert int(first.step_in_epoch.numpy()) == 1
  resumed = make_trainer(model_dir=str(tmp_path), optimizer=Adam, lr=0.01,
                         checkpoint_every=1)
  resumed.fit(data_fn(), train_steps=8)
  assert int(resumed.global_step.numpy()) == 8
  for a, b in zip(weights(full), weights(resumed)):
    testing.assert_allclose(a, b, atol=1e-6)


def chained_data_fn(batch_size=4, n=10):
  """data_fn's epochs as an EpochData (a tensor epoch seeds the shuffle)."""
  x, y = make_data(n)
  return EpochData(lambda epoch: tf.data.Dataset.from_tensor_slices(
      (x, y)).shuffle(n, seed=100 + epoch,
                      reshuffle_each_iteration=False).batch(batch_size))


def test_chained_epochs_resume_mid_epoch_equals_per_epoch_datasets(tmp_path):
  chained = chained_data_fn()
  full = make_trainer(optimizer=Adam, lr=0.01)
  full.fit(lambda epoch: chained(epoch), train_steps=8)  # no chain
  first = make_trainer(model_dir=str(tmp_path), optimizer=Adam, lr=0.01,
                       checkpoint_every=1)
  first.fit(chained, train_steps=4, steps_per_epoch=3)
  assert int(first.step_in_epoch.numpy()) == 1
  resumed = make_trainer(model_dir=str(tmp_path), optimizer=Adam, lr=0.01,
                         checkpoint_every=1)
  history = resumed.fit(chained, train_steps=8, steps_per_epoch=3)
  assert int(resumed.global_step.numpy()) == 8
  assert history.epoch == [0, 1]
  for a, b in zip(weights(full), weights(resumed)):
    testing.assert_allclose(a, b, atol=1e-6)


def test_chained_epochs_over_several_fits_equal_one_fit():
  chained = chained_data_fn()
  whole = make_trainer(optimizer=Adam, lr=0.01)
  whole.fit(lambda epoch: chained(epoch), epochs=4)  # no chain
  parts = make_trainer(optimizer=Adam, lr=0.01)
  parts.fit(chained, epochs=2, steps_per_epoch=3)
  chain = parts._chain_left[-1]
  parts.fit(chained, train_steps=8, steps_per_epoch=3)  # stops mid-epoch 2
  parts.fit(chained, epochs=4, steps_per_epoch=3)
  assert parts._chain_left[-1] is chain  # one iterator for the three fits
  assert parts.steps_done == 12
  for a, b in zip(weights(whole), weights(parts)):
    testing.assert_allclose(a, b, atol=1e-6)


def test_validation_on_the_repeated_iterator_equals_a_fresh_evaluate():
  trainer = make_trainer()
  validation = data_fn(batch_size=3, shuffle=False)(0)  # 4 batches: 3,3,3,1
  history = trainer.fit(chained_data_fn(), epochs=3, steps_per_epoch=3,
                        validation=validation)
  fresh = trainer.evaluate(validation)
  assert len(history.history["val_loss"]) == 3
  assert history.history["val_loss"][-1] == pytest.approx(fresh["loss"],
                                                          rel=1e-6)
  assert history.history["val_mae"][-1] == pytest.approx(fresh["mae"],
                                                         rel=1e-6)
  assert history.history["val_loss"][0] != history.history["val_loss"][-1]


def test_resume_by_epochs_continues_history(tmp_path):
  make_trainer(model_dir=str(tmp_path)).fit(data_fn(), epochs=2)
  history = make_trainer(model_dir=str(tmp_path)).fit(data_fn(), epochs=5)
  assert history.epoch == [0, 1, 2, 3, 4]
  assert len(history.history["loss"]) == 5


def test_checkpoint_rotation_keeps_max_to_keep(tmp_path):
  trainer = make_trainer(model_dir=str(tmp_path), checkpoint_every=1,
                         max_to_keep=3)
  trainer.fit(data_fn(), epochs=3)
  index_files = glob.glob(os.path.join(tmp_path, "ckpt-*.index"))
  assert sorted(os.path.basename(f) for f in index_files) == [
      "ckpt-7.index", "ckpt-8.index", "ckpt-9.index"]


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
  x, y = make_data()
  poisoned_y = y.copy()
  poisoned_y[5] = np.nan

  def nan_from_epoch_2(epoch):
    labels = y if epoch < 2 else poisoned_y
    return tf.data.Dataset.from_tensor_slices((x, labels)).batch(4)

  trainer = make_trainer(model_dir=str(tmp_path), checkpoint_every=3,
                         steps_per_loop=1)
  with pytest.raises(NonFiniteLossError, match="ckpt-6"):
    trainer.fit(nan_from_epoch_2, epochs=5)
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-6")
  assert int(trainer.global_step.numpy()) == 8  # the NaN batch was step 8
  restored = make_trainer(model_dir=str(tmp_path))
  restored.build(nan_from_epoch_2(0).element_spec)
  restored.restore()
  assert all(np.isfinite(w).all() for w in weights(restored))


def test_restore_into_other_model_names_mismatch_and_keeps_files(tmp_path):
  make_trainer(model_dir=str(tmp_path)).fit(data_fn(), epochs=1)
  files = {f: os.path.getmtime(os.path.join(tmp_path, f))
           for f in os.listdir(tmp_path)}
  model = Sequential([Dense(5, activation="tanh"), Dense(1)])
  other = Trainer(model, "mse", SGD(0.1), model_dir=str(tmp_path),
                  print_fn=None)
  with pytest.raises(CheckpointMismatchError,
                     match=r"model/_layers/0/w has shape \[3, 5\]"):
    other.fit(data_fn(), epochs=2)
  assert {f: os.path.getmtime(os.path.join(tmp_path, f))
          for f in os.listdir(tmp_path)} == files


def test_threshold_hook_stops_training():
  trainer = make_trainer()
  stop = hooks.StopAtThreshold("loss", 0.5)
  history = trainer.fit(data_fn(), epochs=200, hooks=[stop])
  assert len(history.epoch) < 200
  assert history.history["loss"][-1] <= 0.5
  assert "cancelling training" in history.stop_reason


def test_early_stopping_on_validation_metric():
  trainer = make_trainer(lr=0.0)  # never improves
  stop = hooks.EarlyStopping("val_loss", patience=2)
  history = trainer.fit(data_fn(), epochs=20, hooks=[stop],
                        validation=data_fn(shuffle=False)(0))
  assert len(history.epoch) == 4
  assert "val_loss" in history.history


def test_learning_rate_schedule_hook_sets_rate_per_epoch():
  trainer = make_trainer()
  sweep = hooks.LearningRateSchedule(lambda e: 1e-3 * 10 ** (e / 2))
  history = trainer.fit(data_fn(), epochs=3, hooks=[sweep])
  np.testing.assert_allclose(history.history["lr"],
                             [1e-3, 1e-3 * 10**0.5, 1e-2], rtol=1e-5)


def _tags(logdir):
  tags = {}
  for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    for kind, names in acc.Tags().items():
      if isinstance(names, list):
        tags.setdefault(kind, set()).update(names)
      elif names:
        tags.setdefault(kind, set()).add(True)
  return tags


@pytest.mark.parametrize("summary_every", [1, 1000], ids=["each", "rare"])
def test_summaries_written_to_train_and_eval(tmp_path, summary_every):
  trainer = make_trainer(model_dir=str(tmp_path), summary_every=summary_every,
                         steps_per_loop=2)
  trainer.fit(data_fn(), epochs=2, validation=data_fn(shuffle=False)(0))
  train = _tags(os.path.join(tmp_path, "train"))
  assert "train_step" in train["tensors"]  # the traced graph, always
  if summary_every == 1000:
    return
  assert {"loss", "mae", "learning_rate", "steps_per_sec",
          "examples_per_sec", "step_loss"} <= train["tensors"]
  assert {"_layers/0/w", "_layers/1/w", "_layers/1/b"} <= train["tensors"]
  assert {"loss", "mae"} <= _tags(os.path.join(tmp_path, "eval"))["tensors"]


def test_jit_compiled_step_matches_plain_step():
  plain = make_trainer()
  plain.fit(data_fn(), epochs=2)
  compiled = make_trainer(jit_compile=True)
  compiled.fit(data_fn(), epochs=2)
  assert compiled.jit_compile
  for a, b in zip(weights(plain), weights(compiled)):
    testing.assert_allclose(a, b, atol=1e-5)


def test_default_histograms_every_tenth_epoch_and_at_the_last(tmp_path):
  trainer = make_trainer(model_dir=str(tmp_path), summary_every=1000)
  trainer.fit(data_fn(), epochs=12)
  steps = []
  for path in glob.glob(os.path.join(tmp_path, "train",
                                     "events.out.tfevents.*")):
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    steps += [e.step for e in acc.Tensors("_layers/0/w")]
  assert sorted(steps) == [10 * 3, 12 * 3]  # 3 steps per epoch
