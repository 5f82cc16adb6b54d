"""trainers.train's TensorBoard extras: the profiler trace and HParams rows.

The HParams check asks a real TensorBoard server (started in-process on a
free localhost port) for the plugin's session groups, as the HParams tab
does.
"""

from __future__ import annotations

import glob
import json
import os
import urllib.request

import pytest
import tensorflow as tf
from tensorboard import program

from engine import hparams_summary
from models import registry
from tests import testing
from trainers.common import session

RATES = ("0.01", "0.02")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
  """Two tiny runs of `line` under one log dir: the first by the binary
  (profiled), the second in-process through the same engine calls (one
  subprocess fewer keeps the test fast)."""
  root = tmp_path_factory.mktemp("sweep")
  result = testing.run_binary(
      "trainers.train", "--model=line", "--epochs=3",
      f"--learning_rate={RATES[0]}", f"--model_dir={root / f'lr{RATES[0]}'}",
      "--profile_steps=0,2")
  assert result.returncode == 0, result.stderr
  _train_in_process(str(root / f"lr{RATES[1]}"), float(RATES[1]))
  return root


def _train_in_process(model_dir: str, learning_rate: float) -> None:
  recipe = registry.get("line")
  hparams = dict(recipe.hparams, learning_rate=learning_rate, epochs=3)
  data = recipe.make_data(hparams)
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), model_dir,
                                 print_fn=None)
  hparams_summary.write_hparams(model_dir, dict(hparams, model="line"))
  history = trainer.fit(data.train, epochs=3)
  final = history.last()
  hparams_summary.write_final_metrics(model_dir, final, trainer.steps_done)
  with open(os.path.join(model_dir, "metrics.json"), "w") as f:
    json.dump({"train": {"train": final}}, f)


def _post(url: str, path: str, body: dict) -> dict:
  request = urllib.request.Request(
      url.rstrip("/") + path, data=json.dumps(body).encode(),
      headers={"Content-Type": "application/json"})
  with urllib.request.urlopen(request, timeout=60) as response:
    return json.loads(response.read())


def test_profile_steps_writes_a_trace_into_train(sweep):
  traces = glob.glob(str(sweep / "lr0.01" / "train" / "plugins" / "profile"
                         / "*" / "*.xplane.pb"))
  assert traces and os.path.getsize(traces[0]) > 0
  assert not glob.glob(str(sweep / "lr0.02" / "train" / "plugins"))


def test_bad_profile_steps_is_a_usage_error(tmp_path):
  result = testing.run_binary("trainers.train", "--model=line",
                              "--profile_steps=5,2",
                              f"--model_dir={tmp_path / 'run'}")
  assert result.returncode != 0
  assert "--profile_steps" in result.stderr
  assert not os.path.exists(tmp_path / "run")


def test_hparams_tab_lists_each_run_with_its_rate_and_final_loss(sweep):
  board = program.TensorBoard()
  board.configure(argv=[None, "--logdir", str(sweep), "--host", "localhost",
                        "--port", "0", "--load_fast", "false"])
  url = board.launch()
  experiment = _post(url, "/data/plugin/hparams/experiment",
                     {"experimentName": ""})
  infos = {h["name"]: h for h in experiment["hparamInfos"]}
  assert infos["learning_rate"]["differs"]
  assert "line" in infos["model"]["domainDiscrete"]
  groups = _post(url, "/data/plugin/hparams/session_groups", {
      "experimentName": "", "startIndex": 0, "sliceSize": 10,
      "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS",
                          "STATUS_FAILURE", "STATUS_RUNNING"],
      "colParams": []})["sessionGroups"]
  rows = {}
  for group in groups:
    metrics = {(m["name"]["group"], m["name"]["tag"]): m["value"]
               for m in group["metricValues"]}
    rows[group["hparams"]["learning_rate"]] = metrics
  assert sorted(rows) == [float(r) for r in RATES]
  for rate, metrics in rows.items():
    run = sweep / f"lr{rate}"
    with open(run / "metrics.json") as f:
      final_loss = json.load(f)["train"]["train"]["loss"]
    assert metrics[("", "final/loss")] == pytest.approx(final_loss,
                                                        rel=1e-5)
    assert ("train", "loss") in metrics
