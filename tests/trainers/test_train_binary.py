"""The training binaries end to end: tiny budgets, bad input, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests import testing

TINY = ("--epochs=2", "--hparam=shuffle_buffer=10", "--steps_per_loop=5")


def write_series_csv(path, values, header="Date,Temp"):
  lines = [header] + [f"1981-01-{i % 28 + 1:02d},{v}" for i, v in
                      enumerate(values)]
  path.write_text("\r\n".join(lines))
  return str(path)


def train(model_dir, *args, model="series_dnn"):
  return testing.run_binary("trainers.train", f"--model={model}",
                            f"--model_dir={model_dir}", *args)


one_error_line = testing.one_error_line


def test_train_evaluate_forecast_end_to_end(tmp_path):
  csv = write_series_csv(tmp_path / "s.csv",
                         np.sin(np.arange(120) / 5.0) * 10 + 20)
  model_dir = tmp_path / "run"
  result = train(model_dir, *TINY, f"--data_path={csv}", "--window_size=5",
                 "--split_time=90", "--batch_size=8", "--value_column=Temp")
  assert result.returncode == 0, result.stderr
  assert "epoch 2/2" in result.stdout and "ETA" in result.stdout
  metrics = json.loads((model_dir / "metrics.json").read_text())
  assert metrics["train"]["epochs"] == 2
  assert {"loss", "mae", "val_loss", "val_mae"} <= set(
      metrics["train"]["history"])
  assert (model_dir / "train").is_dir() and (model_dir / "eval").is_dir()
  evaluated = testing.run_binary("trainers.evaluate",
                                 f"--model_dir={model_dir}")
  assert evaluated.returncode == 0, evaluated.stderr
  assert "on the validation split" in evaluated.stdout
  evaluation = json.loads((model_dir / "metrics.json").read_text())["evaluate"]
  assert evaluation["step"] == metrics["train"]["steps"]
  assert evaluation["loss"] == pytest.approx(
      metrics["train"]["validation"]["loss"], rel=1e-4)
  with testing.moved_away(csv):  # forecast reads series.json only.
    forecast = testing.run_binary("trainers.forecast",
                                  f"--model_dir={model_dir}")
  assert forecast.returncode == 0, forecast.stderr
  names = [line.split()[0] for line in forecast.stdout.splitlines()
           if "MAE" in line]
  assert names[:3] == ["series_dnn", "naive", "moving_average"]
  scores = json.loads((model_dir / "metrics.json").read_text())["forecast"]
  assert set(scores["naive"]) == {"mae", "mse"}


@pytest.mark.parametrize("args, fragments", [
    (("--model=nope",), ("unknown model 'nope'", "series_dnn")),
    (("--model=series_dnn", "--batch_size=0"), ("--batch_size",
                                               "positive")),
    (("--model=series_dnn", "--epochs=-1"), ("--epochs", "positive")),
    (("--model=series_dnn", "--learning_rate=0"), ("--learning_rate",)),
    (("--model=series_dnn", "--strategy=tpu_pod"), ("--strategy",)),
    (("--model=series_dnn", "--data_path=/no/such.csv"), ("/no/such.csv",)),
    (("--model=series_dnn", "--hparam=colour=red"), ("colour",)),
    (("--model=series_dnn", "--augment"), ("no hyper-parameter 'augment'",)),
], ids=["unknown_model", "zero_batch", "negative_epochs", "zero_lr",
        "unknown_strategy", "missing_file", "unknown_hparam",
        "flag_the_model_lacks"])
def test_bad_flags_get_one_line_errors(tmp_path, args, fragments):
  result = testing.run_binary("trainers.train",
                              f"--model_dir={tmp_path / 'run'}", *args)
  one_error_line(result, *fragments)
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("rows, fragments", [
    (["1.0"] * 10 + ["abc"] + ["2.0"] * 60, ("line 12", "abc")),
    (["1.0"] * 10, ("window",)),
    (["1.0"] * 30 + ["nan"] + ["1.0"] * 40, ("line 32",)),
], ids=["unparsable_row", "shorter_than_window", "nan_value"])
def test_bad_series_files_name_the_problem(tmp_path, rows, fragments):
  csv = write_series_csv(tmp_path / "bad.csv", rows)
  result = train(tmp_path / "run", f"--data_path={csv}", "--window_size=20",
                 "--epochs=1")
  one_error_line(result, *fragments)


def test_model_dir_of_another_model_is_refused_untouched(tmp_path):
  model_dir = tmp_path / "run"
  assert train(model_dir, "--model=line", "--epochs=2",
               model="line").returncode == 0
  before = {p: os.path.getmtime(model_dir / p) for p in os.listdir(model_dir)}
  result = train(model_dir, "--epochs=1")
  one_error_line(result, "'line'", "series_dnn")
  assert {p: os.path.getmtime(model_dir / p)
          for p in os.listdir(model_dir)} == before


def _final_weights(model_dir):
  reader = tf.train.load_checkpoint(str(model_dir))
  keys = sorted(k for k in reader.get_variable_to_shape_map()
                if k.startswith("model/") and "OPTIMIZER" not in k)
  return {k: reader.get_tensor(k) for k in keys}


def test_sigkill_then_rerun_resumes_to_identical_state(tmp_path):
  epochs, steps = 12, 31
  args = (f"--epochs={epochs}", f"--checkpoint_every={steps}",
          "--steps_per_loop=1", "--hparam=preset=week1", "--deterministic")
  reference = tmp_path / "reference"
  assert train(reference, *args).returncode == 0
  killed = tmp_path / "killed"
  process = testing.start_binary("trainers.train", "--model=series_dnn",
                                 f"--model_dir={killed}", *args)
  deadline = time.time() + 120
  while time.time() < deadline and not list(killed.glob("ckpt-*.index"))[1:]:
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.communicate()
  saved = tf.train.latest_checkpoint(str(killed))
  assert saved is not None
  assert int(saved.rsplit("-", 1)[1]) < epochs * steps, "finished before kill"
  resumed = train(killed, *args)
  assert resumed.returncode == 0, resumed.stderr
  expected, got = _final_weights(reference), _final_weights(killed)
  assert expected.keys() == got.keys()
  for key in expected:
    np.testing.assert_allclose(got[key], expected[key], atol=1e-6,
                               err_msg=key)
  step = tf.train.load_checkpoint(str(killed)).get_tensor(
      "global_step/.ATTRIBUTES/VARIABLE_VALUE")
  assert step == epochs * steps
