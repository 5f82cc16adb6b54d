"""A refused rerun changes nothing in model_dir; broken run files, damaged
checkpoints, a second trainer and bad flags are one `error:` line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from engine import checkpoint as checkpoint_lib
from tests import testing

RUN = ("--model=series_dnn", "--hparam=preset=week1", "--epochs=1",
       "--steps_per_loop=10")


def train(model_dir, *args):
  return testing.run_binary("trainers.train", f"--model_dir={model_dir}",
                            *RUN, *args)


one_error_line = testing.one_error_line


def snapshot(model_dir) -> dict[str, bytes]:
  """Every file under model_dir with its content."""
  files = {}
  for root, _, names in os.walk(model_dir):
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        files[os.path.relpath(path, model_dir)] = f.read()
  return files


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("finished") / "run"
  result = train(model_dir)
  assert result.returncode == 0, result.stderr
  return model_dir


@pytest.mark.parametrize("args, fragments", [
    (("--window_size=7",), ("different model", "window_size=")),
    (("--optimizer=adam",), ("different optimizer state",)),
    (("--hparam=learning_rate=-1",), ("learning_rate", "-1")),
], ids=["architecture", "optimizer", "negative_lr"])
def test_refused_rerun_of_a_finished_run_changes_nothing(finished, args,
                                                         fragments):
  before = snapshot(finished)
  one_error_line(train(finished, *args), *fragments)
  assert snapshot(finished) == before


def test_config_paths_are_absolute_and_tilde_expanded(tmp_path):
  csv = tmp_path / "s.csv"
  csv.write_text("Date,Temp\n" + "\n".join(
      f"1981-01-01,{i % 7}" for i in range(80)))
  model_dir = tmp_path / "run"
  result = testing.run_binary(
      "trainers.train", "--model=series_dnn", "--model_dir=run",
      "--data_path=s.csv", "--epochs=1", "--window_size=5",
      "--split_time=60", "--value_column=Temp", "--hparam=shuffle_buffer=4",
      cwd=str(tmp_path))
  assert result.returncode == 0, result.stderr
  config = json.loads((model_dir / "config.json").read_text())
  assert config["hparams"]["data_path"] == str(csv)


@pytest.mark.parametrize("name, text, fragment", [
    ("metrics.json", "{not json", "unreadable"),
    ("history.json", '{"epoch": 3}', "wrong shape"),
], ids=["metrics_unreadable", "history_shape"])
def test_broken_run_file_is_one_line_before_evaluating(finished, tmp_path,
                                                        name, text, fragment):
  model_dir = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(finished), str(model_dir)], check=True)
  (model_dir / name).write_text(text)
  before = snapshot(model_dir)
  result = testing.run_binary("trainers.evaluate", f"--model_dir={model_dir}")
  one_error_line(result, str(model_dir / name), fragment)
  assert snapshot(model_dir) == before


def test_second_trainer_on_a_locked_dir_is_refused(finished):
  holder = subprocess.Popen([sys.executable, "-c",
                             "import time; time.sleep(60)"])
  try:
    (finished / ".lock").write_text(f"{socket.gethostname()} {holder.pid}\n")
    before = snapshot(finished)
    one_error_line(train(finished, "--epochs=2"), "in use",
                   f"pid {holder.pid}")
    assert snapshot(finished) == before
  finally:
    holder.kill()
    holder.wait()
    os.remove(finished / ".lock")


def test_unreadable_checkpoints_refuse_a_fresh_start_unless_overwrite(
    finished, tmp_path):
  model_dir = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(finished), str(model_dir)], check=True)
  for index in model_dir.glob("ckpt-*.index"):
    index.unlink()
  os.remove(model_dir / "checkpoint")
  before = snapshot(model_dir)
  one_error_line(train(model_dir, "--epochs=2"), "no readable checkpoint",
                 "--overwrite")
  assert snapshot(model_dir) == before
  result = train(model_dir, "--epochs=2", "--overwrite")
  assert result.returncode == 0, result.stderr
  assert "done: 62 steps" in result.stdout
  assert checkpoint_lib.newest_readable(str(model_dir))[1] == []


@pytest.mark.parametrize("args, fragments", [
    (("--hparam=batch_size=0",), ("batch_size", "0")),
    (("--hparam=epochs=-3",), ("epochs", "-3")),
    (("--learning_rate=inf",), ("--learning_rate", "finite")),
    (("--data_path=",), ("--data_path is empty",)),
], ids=["batch_size_0", "epochs_negative", "lr_inf", "empty_data_path"])
def test_bad_values_are_one_line_and_write_nothing(tmp_path, args, fragments):
  one_error_line(train(tmp_path / "run", *args), *fragments)
  assert not (tmp_path / "run").exists()


def test_empty_model_dir_and_a_file_as_model_dir_are_one_line(tmp_path):
  one_error_line(testing.run_binary("trainers.train", *RUN, "--model_dir="),
                 "--model_dir is empty")
  a_file = tmp_path / "file"
  a_file.write_text("x")
  one_error_line(train(a_file), "is a file")


def test_evaluate_falls_back_past_a_truncated_newest_checkpoint(finished,
                                                                tmp_path):
  model_dir = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(finished), str(model_dir)], check=True)
  assert train(model_dir, "--epochs=2").returncode == 0
  newest = next(model_dir.glob("ckpt-62.data-*"))
  with open(newest, "r+b") as f:
    f.truncate(os.path.getsize(newest) // 2)
  result = testing.run_binary("trainers.evaluate", f"--model_dir={model_dir}")
  assert result.returncode == 0, result.stderr
  warnings = [l for l in result.stderr.splitlines() if l.strip()]
  assert len(warnings) == 1 and "ckpt-62" in warnings[0], result.stderr
  assert "restoring ckpt-31" in warnings[0]
  assert "at step 31 " in result.stdout
