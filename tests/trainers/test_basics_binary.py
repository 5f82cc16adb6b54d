"""End-to-end runs of `python -m trainers.basics`, one per demo."""

from __future__ import annotations

import glob
import os
import re

import pytest

from tests import testing


def run_basics(*args):
  return testing.run_binary("trainers.basics", *args)


def event_files(directory):
  return glob.glob(os.path.join(directory, "**", "events.out.tfevents.*"),
                   recursive=True)


def assert_logs_reported(result, logdir, demo):
  where = os.path.join(logdir, demo)
  assert f"TensorBoard logs: {where}" in result.stdout
  assert event_files(where), f"no event files under {where}"


def test_first_steps_demo(tmp_path):
  result = run_basics("--demo=first_steps", f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert "x = placeholder: x:0 dtype=float32 shape=(None, 10)" in out
  assert "x: ['x', 'x_1', 'x_2']" in out
  assert "w: ['w']" in out
  assert "output tensors of x_2: ['x_2:0']" in out
  assert "after reset_default_graph(): 0 ops" in out
  assert "equal to the Session's y: True" in out
  assert re.search(r"y =\n\[\[\s*-?\d", out), "y's values are not printed"
  assert_logs_reported(result, str(tmp_path), "first_steps")


def test_failures_demo_prints_both_one_line_errors(tmp_path):
  result = run_basics("--demo=failures", f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  errors = [line for line in lines if line.startswith("error: ")]
  assert len(errors) == 2
  assert "variable 'w'" in errors[0]
  assert "global_variables_initializer()" in errors[0]
  assert "placeholder 'x'" in errors[1] and "feed_dict" in errors[1]
  assert_logs_reported(result, str(tmp_path), "failures")


def test_optimize_square_demo_prints_x_and_f_each_step(tmp_path):
  result = run_basics("--demo=optimize_square", "--steps=3", "--seed=0",
                      f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  steps = re.findall(r"step\s+(\d+): x =\s+(\S+)\s+f = (\S+)", result.stdout)
  assert [int(s) for s, _, _ in steps] == [0, 1, 2, 3]
  x0 = 1.764052  # np.random.RandomState(0).normal()
  for step, x, f in steps:
    assert float(x) == pytest.approx(x0 * 0.8 ** int(step), abs=2e-6)
    assert float(f) == pytest.approx(float(x) ** 2, abs=2e-6)
  assert "trainable_variables(): ['a', 'b']" in result.stdout
  assert_logs_reported(result, str(tmp_path), "optimize_square")


def test_linear_regression_demo_recovers_the_weights(tmp_path):
  result = run_basics("--demo=linear_regression", f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  logged = re.findall(r"step\s+(\d+): loss = (\S+)", result.stdout)
  assert [int(step) for step, _ in logged] == list(range(0, 301, 50))
  assert "(within 0.05: yes)" in result.stdout
  assert_logs_reported(result, str(tmp_path), "linear_regression")


def test_checkpoints_demo_rotates_restores_and_reports_mismatch(tmp_path):
  saver_dir = tmp_path / "checkpoints" / "saver"
  saver_dir.mkdir(parents=True)
  (saver_dir / "model.ckpt-99.index").write_text("an earlier run's")
  result = run_basics("--demo=checkpoints", "--steps=7",
                      "--checkpoint_every=1", f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  kept = re.findall(r"model\.ckpt-(\d+)\n", result.stdout)
  assert [int(step) for step in kept] == [3, 4, 5, 6, 7]
  assert "global step: 3 -> 7" in result.stdout
  assert "max |restored run - uninterrupted run| = 0.00e+00" in result.stdout
  assert ("error: variable 'w' has shape [4, 1] in the graph but "
          "[3, 1]") in result.stdout
  assert sorted(p.name for p in saver_dir.glob("*.index")) == [
      f"model.ckpt-{step}.index" for step in range(3, 8)]
  assert_logs_reported(result, str(tmp_path), "checkpoints")


def test_tf2_parity_demo(tmp_path):
  result = run_basics("--demo=tf2_parity", "--steps=3",
                      f"--logdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert "(within 0.0001: yes)" in result.stdout
  assert re.search(r"\d+ ops: features, targets, ", result.stdout)
  assert_logs_reported(result, str(tmp_path), "tf2_parity")
  assert event_files(str(tmp_path / "tf2_parity" / "tf2"))
  assert event_files(str(tmp_path / "tf2_parity" / "graph_mode"))


@pytest.mark.parametrize("args, flag", [
    (["--demo=nope"], "--demo"),
    ([], "--demo"),
    (["--demo=optimize_square", "--steps=0"], "--steps"),
    (["--demo=linear_regression", "--learning_rate=-1"], "--learning_rate"),
    (["--demo=linear_regression", "--seed=-3"], "--seed"),
    (["--demo=checkpoints", "--checkpoint_every=0"], "--checkpoint_every"),
], ids=["unknown_demo", "missing_demo", "zero_steps", "negative_lr",
        "negative_seed", "zero_checkpoint_every"])
def test_bad_flag_values_give_one_line_errors(args, flag, tmp_path):
  result = run_basics(*args, f"--logdir={tmp_path}")
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith(f"error: {flag} must be")
  assert not list(tmp_path.iterdir())


def test_helpfull_documents_every_flag():
  result = run_basics("--helpfull")  # absl exits with 1 after help.
  assert result.returncode in (0, 1), result.stderr
  for flag in ("demo", "logdir", "steps", "learning_rate", "seed",
               "checkpoint_every", "max_to_keep"):
    assert f"--{flag}:" in result.stdout
  for demo in ("first_steps", "failures", "optimize_square",
               "linear_regression", "checkpoints", "tf2_parity"):
    assert demo in result.stdout
