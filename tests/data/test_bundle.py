"""EpochData: per-epoch datasets and the same epochs chained into one."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from data.bundle import EpochData, stateless_epoch_order


def shuffled_range(epoch):
  return tf.data.Dataset.range(6).shuffle(
      6, seed=epoch, reshuffle_each_iteration=False).batch(4)


def test_chain_is_the_epochs_one_after_the_other():
  data = EpochData(shuffled_range)
  chained = [b.numpy().tolist() for b in data.epochs_from(5).take(6)]
  separate = [b.numpy().tolist() for e in (5, 6, 7) for b in data(e)]
  assert chained == separate
  assert sorted(sum(separate[:2], [])) == list(range(6))


def test_take_keeps_each_epochs_first_batches_and_the_chain():
  data = EpochData(shuffled_range).take(1)
  assert isinstance(data, EpochData)
  chained = [b.numpy().tolist() for b in data.epochs_from(5).take(3)]
  assert chained == [next(iter(shuffled_range(e))).numpy().tolist()
                     for e in (5, 6, 7)]
  assert [b.numpy().tolist() for b in data(6)] == chained[1:2]


def test_epoch_is_given_as_an_int64_tensor():
  seen = []
  data = EpochData(lambda epoch: seen.append(epoch) or shuffled_range(epoch))
  data(3)
  data.epochs_from(0)
  assert all(isinstance(e, tf.Tensor) and e.dtype == tf.int64 for e in seen)
  assert np.array_equal(seen[0].numpy(), 3)


def test_element_spec_is_worked_out_once():
  built = []
  data = EpochData(lambda epoch: built.append(epoch) or shuffled_range(epoch))
  assert data.element_spec == shuffled_range(0).element_spec
  assert data.element_spec == shuffled_range(0).element_spec
  assert len(built) == 1


def test_stateless_epoch_order_is_a_pure_function_of_seed_and_epoch():
  tf.random.set_seed(0)
  first = stateless_epoch_order(3, tf.constant(2, tf.int64), 50).numpy()
  tf.random.set_seed(123)
  assert np.array_equal(first, stateless_epoch_order(3, 2, 50).numpy())
  assert sorted(first.tolist()) == list(range(50))
  assert not np.array_equal(first, stateless_epoch_order(3, 3, 50).numpy())
  assert not np.array_equal(first, stateless_epoch_order(4, 2, 50).numpy())
