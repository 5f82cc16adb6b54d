"""Dropout draws are functions of (seed, step, replica): resume is exact."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from engine import step_random
from engine.modules.basic import Dropout
from engine.modules.dense import Dense
from engine.modules.sequential import Sequential
from engine.optimizers import SGD
from engine.trainer import Trainer
from tests import testing


def mask(seed, step, replica, draws=1):
  x = tf.ones([200])
  drop = Dropout(0.5)
  with step_random.step_random(seed, step, replica):
    out = [drop(x, training=True) for _ in range(draws)]
  return [o.numpy() for o in out]


def test_same_seed_step_replica_give_the_same_mask():
  np.testing.assert_array_equal(mask(3, 7, 0)[0], mask(3, 7, 0)[0])


@pytest.mark.parametrize("other", [(4, 7, 0), (3, 8, 0), (3, 7, 1)],
                         ids=["seed", "step", "replica"])
def test_any_other_seed_step_or_replica_changes_the_mask(other):
  assert not np.array_equal(mask(3, 7, 0)[0], mask(*other)[0])


def test_two_draws_in_one_step_differ_and_outside_the_context_is_stateful():
  first, second = mask(3, 7, 0, draws=2)
  assert not np.array_equal(first, second)
  assert step_random.next_key() is None
  kept = Dropout(0.5)(tf.ones([1000]), training=True).numpy()
  assert 300 < np.count_nonzero(kept) < 700


def data_fn(epoch):
  rng = np.random.RandomState(epoch)
  x = rng.randn(16, 3).astype(np.float32)
  y = x.sum(axis=1, keepdims=True)
  return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


def make_trainer(strategy, model_dir):
  with strategy.scope():
    tf.random.set_seed(1)
    model = Sequential([Dense(16, activation="relu"), Dropout(0.5),
                        Dense(1)])
    return Trainer(model, "mse", SGD(learning_rate=0.05), strategy=strategy,
                   model_dir=str(model_dir), steps_per_loop=2, seed=5,
                   print_fn=None)


def final_weights(trainer):
  return [v.numpy() for v in trainer.model.trainable_variables]


@pytest.mark.parametrize("strategy_name", ["default", "mirrored"])
def test_dropout_model_resumed_mid_run_equals_an_uninterrupted_run(
    tmp_path, strategy_name):
  strategy = (testing.mirrored_strategy() if strategy_name == "mirrored"
              else tf.distribute.get_strategy())
  whole = make_trainer(strategy, tmp_path / "whole")
  whole.fit(data_fn, train_steps=10)
  first = make_trainer(strategy, tmp_path / "split")
  first.fit(data_fn, train_steps=6)
  resumed = make_trainer(strategy, tmp_path / "split")
  resumed.fit(data_fn, train_steps=10)
  assert resumed.steps_done == 10
  for got, expected in zip(final_weights(resumed), final_weights(whole)):
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
