"""Strategies from a flag name, and the small helpers the loop needs.

`get_strategy("mirrored")` and friends. The loop itself is strategy-agnostic:
it always goes through `strategy.run`, distributed datasets and
`strategy.reduce`; the default strategy makes those the identity.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from engine.errors import EngineUserError
from engine.strategy_names import STRATEGY_NAMES


def get_strategy(name: str, devices: list[str] | None = None
                 ) -> tf.distribute.Strategy:
  """Builds the strategy a `--strategy` flag names.

  Args:
    name: one of STRATEGY_NAMES. `one_device` uses the first GPU when there
      is one, else the CPU. `mirrored` uses every GPU (or the given devices,
      or the CPU). `multi_worker` reads the cluster from TF_CONFIG.
    devices: optional device names for `one_device` / `mirrored`.

  Returns:
    The strategy.

  Raises:
    EngineUserError: for an unknown name or a missing/invalid TF_CONFIG.
  """
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy(
        devices[0] if devices else _first_device())
  if name == "mirrored":
    return tf.distribute.MirroredStrategy(devices)
  if name == "multi_worker":
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise EngineUserError(
      f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}")


def _first_device() -> str:
  gpus = tf.config.list_logical_devices("GPU")
  return gpus[0].name if gpus else "/cpu:0"


def _check_tf_config() -> None:
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    raise EngineUserError(
        "--strategy=multi_worker needs the TF_CONFIG environment variable "
        "(a JSON cluster spec with 'cluster' and 'task'); it is not set")
  try:
    config = json.loads(raw)
  except json.JSONDecodeError as e:
    raise EngineUserError(f"TF_CONFIG is not valid JSON: {e}") from None
  if "cluster" not in config or "task" not in config:
    raise EngineUserError(
        "TF_CONFIG must hold 'cluster' and 'task' keys; got "
        f"{sorted(config)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """True on the worker that owns model_dir (always true off multi-worker)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  task_type, task_id = resolver.task_type, resolver.task_id
  return task_type in (None, "chief") or (
      task_type == "worker" and task_id == 0 and
      "chief" not in resolver.cluster_spec().as_dict())


def worker_id(strategy: tf.distribute.Strategy) -> str | None:
  """"<task type>_<task index>" of this worker, None off a cluster."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return None
  return f"{resolver.task_type}_{resolver.task_id}"


def cluster_signal(strategy: tf.distribute.Strategy, signum: int | None,
                   handled: tuple[int, ...]) -> int | None:
  """The signal any worker of the cluster received (one of `handled`; the
  last of them if workers received different ones), None if none did.

  A collective: every worker must call it at the same point of training.
  """
  flags = [1.0 if signum == s else 0.0 for s in handled]
  per_replica = strategy.run(lambda: tf.constant(flags))
  received = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica,
                             axis=None).numpy()
  agreed = [s for s, count in zip(handled, received) if count > 0]
  return agreed[-1] if agreed else None


def distribute(strategy: tf.distribute.Strategy,
               dataset: tf.data.Dataset) -> tf.data.Dataset:
  """The dataset as the strategy wants it (unchanged for one device).

  The dataset is batched with the GLOBAL batch size; the strategy splits
  each batch over its replicas.
  """
  if strategy.num_replicas_in_sync == 1 and not isinstance(
      strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return dataset
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return strategy.experimental_distribute_dataset(
      dataset.with_options(options))


def local_values(strategy: tf.distribute.Strategy, value) -> list:
  """The per-replica components of a (possibly) distributed value."""
  return list(strategy.experimental_local_results(value))
