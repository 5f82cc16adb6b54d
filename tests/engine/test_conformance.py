"""The same checks over EVERY engine module (Sonnet's conformance idea).

Each registry entry is (constructor, example input, Keras twin, how to list
our variables in the twin's weight order). For each module:

* checkpoint round trip: save, restore into a fresh built instance, equal
  outputs (`assert_consumed`);
* restore before build: restore into a fresh UNBUILT instance, then call it
  (deferred restoration), equal outputs;
* one trace per loop: the compiled loop (engine/loop.py) over the module
  traces once across several calls with new iterators and step counts;
* mirrored on 2 logical CPUs equals one device: forward, and one training
  step of the engine's task (global-batch loss, engine SGD);
* Keras parity, where a Keras twin exists: forward with copied weights.

A merge module (Concatenate, Add) takes a tuple of example tensors.
BatchNormalization is registered with `synchronized=True`: in training mode
a per-replica BN (the default, as Keras) normalises each replica's half
batch, which by design differs from one device on the global batch; the
synchronized one must match it, moving statistics included.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

import engine
from engine import distribute
from engine.loop import make_loop_fn
from engine.modules.activation import Activation
from engine.modules.basic import (Dropout, ExpandDims, Flatten, Lambda,
                                  Scale)
from engine.modules.conv import Conv1D, Conv2D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.merge import Add, Concatenate
from engine.modules.norm import BatchNormalization
from engine.modules.pool import (AveragePooling2D, GlobalAveragePooling1D,
                                 GlobalAveragePooling2D, GlobalMaxPooling1D,
                                 GlobalMaxPooling2D, MaxPool1D, MaxPool2D)
from engine.modules.recurrent import GRU, LSTM, SimpleRNN
from engine.modules.sequential import Sequential
from engine.modules.wrappers import Bidirectional
from engine.optimizers import SGD
from engine.task import Task
from tests import testing

L = keras.layers
BATCH = 4  # two examples per replica on 2 logical CPUs


def _floats(*shape: int, seed: int = 0) -> Callable[[], np.ndarray]:
  return lambda: np.random.default_rng(seed).normal(
      size=(BATCH,) + shape).astype(np.float32)


def _pair(first: tuple[int, ...], second: tuple[int, ...]
          ) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
  """Two example tensors, the input of a merge module."""
  return lambda: (_floats(*first)(), _floats(*second, seed=1)())


def _ids() -> np.ndarray:
  return np.random.default_rng(0).integers(0, 10, size=(BATCH, 3),
                                           dtype=np.int32)


def _attrs(*names: str) -> Callable[[Any], list[tf.Variable]]:
  return lambda module: [getattr(module, name) for name in names]


def _bidirectional_order(module) -> list[tf.Variable]:
  return [getattr(d, n) for d in (module.forward_layer, module.backward_layer)
          for n in ("w", "u", "b")]


def _sequential_order(module) -> list[tf.Variable]:
  return [v for layer in module.layers for v in (layer.w, layer.b)]


@dataclasses.dataclass(frozen=True)
class Entry:
  """One engine module under conformance test."""
  make: Callable[[], tf.Module]
  example: Callable[[], np.ndarray]
  keras: Callable[[], Any] | None = None
  keras_order: Callable[[Any], list[tf.Variable]] = lambda m: []
  deterministic_in_training: bool = True


REGISTRY: dict[str, Entry] = {
    "Dense": Entry(lambda: Dense(3, activation="tanh"), _floats(2),
                   lambda: L.Dense(3, activation="tanh"), _attrs("w", "b")),
    "Conv1D": Entry(lambda: Conv1D(2, 3, padding="same"), _floats(5, 2),
                    lambda: L.Conv1D(2, 3, padding="same"), _attrs("w", "b")),
    "Conv2D": Entry(lambda: Conv2D(2, 3), _floats(5, 5, 2),
                    lambda: L.Conv2D(2, 3), _attrs("w", "b")),
    "MaxPool1D": Entry(MaxPool1D, _floats(4, 2), L.MaxPooling1D),
    "MaxPool2D": Entry(MaxPool2D, _floats(4, 4, 2), L.MaxPooling2D),
    "AveragePooling2D": Entry(
        lambda: AveragePooling2D(3, strides=1, padding="same"),
        _floats(4, 4, 2),
        lambda: L.AveragePooling2D(3, strides=1, padding="same")),
    "BatchNormalization": Entry(
        lambda: BatchNormalization(momentum=0.9, synchronized=True),
        _floats(3, 3, 2),
        lambda: L.BatchNormalization(momentum=0.9, synchronized=True),
        _attrs("gamma", "beta", "moving_mean", "moving_variance")),
    "Concatenate": Entry(Concatenate, _pair((3, 3, 2), (3, 3, 3)),
                         L.Concatenate),
    "Add": Entry(Add, _pair((3, 2), (3, 2)), L.Add),
    "Activation": Entry(lambda: Activation("relu"), _floats(3),
                        lambda: L.Activation("relu")),
    "GlobalAveragePooling1D": Entry(GlobalAveragePooling1D, _floats(4, 2),
                                    L.GlobalAveragePooling1D),
    "GlobalAveragePooling2D": Entry(GlobalAveragePooling2D, _floats(3, 3, 2),
                                    L.GlobalAveragePooling2D),
    "GlobalMaxPooling1D": Entry(GlobalMaxPooling1D, _floats(4, 2),
                                L.GlobalMaxPooling1D),
    "GlobalMaxPooling2D": Entry(GlobalMaxPooling2D, _floats(3, 3, 2),
                                L.GlobalMaxPooling2D),
    "Embedding": Entry(lambda: Embedding(10, 2), _ids,
                       lambda: L.Embedding(10, 2), _attrs("embeddings")),
    "Flatten": Entry(Flatten, _floats(2, 3), L.Flatten),
    "Dropout": Entry(lambda: Dropout(0.5, seed=1), _floats(3),
                     lambda: L.Dropout(0.5), deterministic_in_training=False),
    "Lambda": Entry(lambda: Lambda(tf.square), _floats(3)),
    "Scale": Entry(lambda: Scale(2.0), _floats(3), lambda: L.Rescaling(2.0)),
    "ExpandDims": Entry(lambda: ExpandDims(-1), _floats(3)),
    "SimpleRNN": Entry(lambda: SimpleRNN(3), _floats(3, 2),
                       lambda: L.SimpleRNN(3), _attrs("w", "u", "b")),
    "LSTM": Entry(lambda: LSTM(3, return_sequences=True), _floats(3, 2),
                  lambda: L.LSTM(3, return_sequences=True),
                  _attrs("w", "u", "b")),
    "GRU": Entry(lambda: GRU(3), _floats(3, 2), lambda: L.GRU(3),
                 _attrs("w", "u", "b")),
    "Bidirectional": Entry(lambda: Bidirectional(LSTM(2)), _floats(3, 2),
                           lambda: L.Bidirectional(L.LSTM(2)),
                           _bidirectional_order),
    "Sequential": Entry(
        lambda: Sequential([Dense(4, activation="relu"), Dense(2)]),
        _floats(3),
        lambda: keras.Sequential([L.Dense(4, activation="relu"),
                                  L.Dense(2)]),
        _sequential_order),
}
NAMES = sorted(REGISTRY)
WITH_KERAS = [name for name in NAMES if REGISTRY[name].keras is not None]


def _constants(example) -> Any:
  """The example as a tensor, or a tuple of tensors for a merge module."""
  return tf.nest.map_structure(tf.constant, example)


def built(name: str) -> tuple[tf.Module, tf.Tensor]:
  """A fresh instance of the module, called once on its example input."""
  entry = REGISTRY[name]
  module, x = entry.make(), _constants(entry.example())
  module(x)
  return module, x


def perturb(module: tf.Module) -> None:
  """Moves every variable away from its initial value (zero biases too)."""
  for i, variable in enumerate(module.variables):
    variable.assign_add(tf.fill(variable.shape, tf.cast(0.1 * (i + 1),
                                                        variable.dtype)))


def test_registry_covers_every_exported_module():
  exported = {name for name in engine.__all__
              if isinstance(getattr(engine, name), type)
              and issubclass(getattr(engine, name), engine.Module)
              and getattr(engine, name) is not engine.Module}
  # Keras-style aliases resolve to the same classes as the registry's.
  covered = {type(REGISTRY[name].make()) for name in NAMES}
  assert {getattr(engine, name) for name in exported} <= covered


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip(name, tmp_path):
  saved, x = built(name)
  perturb(saved)
  path = tf.train.Checkpoint(module=saved).save(str(tmp_path / "ckpt"))
  fresh, _ = built(name)
  tf.train.Checkpoint(module=fresh).restore(path).assert_consumed()
  testing.assert_allclose(fresh(x), saved(x), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_restore_before_build(name, tmp_path):
  saved, x = built(name)
  perturb(saved)
  path = tf.train.Checkpoint(module=saved).save(str(tmp_path / "ckpt"))
  fresh = REGISTRY[name].make()
  status = tf.train.Checkpoint(module=fresh).restore(path)
  outputs = fresh(x)  # builds; deferred restoration fills the variables
  status.assert_consumed()
  testing.assert_allclose(outputs, saved(x), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_loop_traces_once(name):
  module, x = built(name)
  total = tf.Variable(0.0)

  def step(element):
    total.assign_add(tf.reduce_sum(tf.cast(module(element), tf.float32)))

  loop = make_loop_fn(step)
  dataset = tf.data.Dataset.from_tensor_slices(x).batch(2)
  for num_steps in (1, 2, 2):
    loop(iter(dataset), tf.constant(num_steps))
  assert loop.experimental_get_tracing_count() == 1
  assert np.isfinite(total.numpy())


def _squared_outputs(y, pred):
  """A per-example loss that reads every output: sum of squares."""
  del y
  pred = tf.cast(pred, tf.float32)
  return tf.reduce_sum(tf.reshape(tf.square(pred), [tf.shape(pred)[0], -1]),
                       axis=1)


def _forward_and_step(name, strategy, reference: tf.Module, x):
  """Outputs, then weights after one engine training step, under `strategy`."""
  entry = REGISTRY[name]
  with strategy.scope():
    module = entry.make()
    task = Task(module, _squared_outputs, SGD(0.1), strategy=strategy)
  dataset = tf.data.Dataset.from_tensor_slices((x, tf.zeros([BATCH]))).batch(
      BATCH)
  task.build(dataset.element_spec)
  for ours, theirs in zip(module.variables, reference.variables):
    ours.assign(theirs)
  element = next(iter(distribute.distribute(strategy, dataset)))
  predict = tf.function(task.predict_step)
  outputs = np.concatenate([t.numpy() for t in distribute.local_values(
      strategy, predict(element[0]))])
  if module.trainable_variables and entry.deterministic_in_training:
    tf.function(task.train_step)(element)
  return outputs, [v.numpy() for v in module.variables]


@pytest.mark.parametrize("name", NAMES)
def test_mirrored_equals_one_device(name):
  reference, x = built(name)
  perturb(reference)
  single = _forward_and_step(name, tf.distribute.get_strategy(), reference, x)
  mirrored = _forward_and_step(name, testing.mirrored_strategy(), reference,
                               x)
  testing.assert_allclose(mirrored[0], single[0], atol=1e-6)
  for ours, theirs in zip(mirrored[1], single[1]):
    testing.assert_allclose(ours, theirs, atol=1e-6)
  if reference.trainable_variables and REGISTRY[name].deterministic_in_training:
    before = [v.numpy() for v in reference.variables]
    assert any(not np.allclose(a, b) for a, b in zip(single[1], before)), (
        "the training step changed no variable")


@pytest.mark.parametrize("name", WITH_KERAS)
def test_keras_parity(name):
  entry = REGISTRY[name]
  ours, x = built(name)
  perturb(ours)
  reference = entry.keras()
  reference(x)
  reference.set_weights([v.numpy() for v in entry.keras_order(ours)])
  testing.assert_allclose(ours(x), reference(x), atol=1e-5)
