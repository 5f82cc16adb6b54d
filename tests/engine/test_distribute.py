"""Strategies from flag names, and a real two-worker run on localhost."""

from __future__ import annotations

import json
import os

import pytest
import tensorflow as tf

from engine import distribute
from engine.errors import EngineUserError
from tests import testing


def test_strategy_names_build_their_strategies():
  assert distribute.get_strategy("default") is tf.distribute.get_strategy()
  one = distribute.get_strategy("one_device")
  assert isinstance(one, tf.distribute.OneDeviceStrategy)
  mirrored = distribute.get_strategy("mirrored", testing.logical_cpus()[:2])
  assert mirrored.num_replicas_in_sync == 2


def test_unknown_strategy_names_the_choices():
  with pytest.raises(EngineUserError, match="one_device, mirrored"):
    distribute.get_strategy("tpu_pod")


@pytest.mark.parametrize("tf_config, message", [
    (None, "TF_CONFIG environment variable"),
    ("{not json", "not valid JSON"),
    ('{"cluster": {}}', "'cluster' and 'task'"),
], ids=["unset", "bad_json", "missing_task"])
def test_multi_worker_needs_a_valid_tf_config(monkeypatch, tf_config,
                                              message):
  if tf_config is None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
  else:
    monkeypatch.setenv("TF_CONFIG", tf_config)
  with pytest.raises(EngineUserError, match=message):
    distribute.get_strategy("multi_worker")


def _final_loss(model_dir):
  metrics = json.loads((model_dir / "metrics.json").read_text())
  return metrics["train"]["train"]["loss"]


def test_two_workers_on_localhost_match_one_device(tmp_path):
  args = ["--model=linear_regression", "--epochs=3"]
  workers = testing.start_workers(*args, f"--model_dir={tmp_path / 'multi'}")
  for worker in workers:
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
  single = testing.run_binary("trainers.train", *args,
                              f"--model_dir={tmp_path / 'single'}")
  assert single.returncode == 0, single.stderr
  assert _final_loss(tmp_path / "multi") == pytest.approx(
      _final_loss(tmp_path / "single"), rel=1e-5)
  names = os.listdir(tmp_path / "multi")
  assert "ckpt-3.index" in names
  assert not [n for n in names if n.startswith(".worker_scratch")]
  assert len(os.listdir(tmp_path / "multi" / "train")) == 1  # chief only
