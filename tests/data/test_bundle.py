"""EpochData: per-epoch datasets and the same epochs chained into one."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from data.bundle import EpochData


def shuffled_range(epoch):
  return tf.data.Dataset.range(6).shuffle(
      6, seed=epoch, reshuffle_each_iteration=False).batch(4)


def test_chain_is_the_epochs_one_after_the_other():
  data = EpochData(shuffled_range)
  chained = [b.numpy().tolist() for b in data.epochs_from(5).take(6)]
  separate = [b.numpy().tolist() for e in (5, 6, 7) for b in data(e)]
  assert chained == separate
  assert sorted(sum(separate[:2], [])) == list(range(6))


def test_epoch_is_given_as_an_int64_tensor():
  seen = []
  data = EpochData(lambda epoch: seen.append(epoch) or shuffled_range(epoch))
  data(3)
  data.epochs_from(0)
  assert all(isinstance(e, tf.Tensor) and e.dtype == tf.int64 for e in seen)
  assert np.array_equal(seen[0].numpy(), 3)
