"""summary, lr_find and benchmark binaries end to end on tiny budgets."""

from __future__ import annotations

import json
import re

import numpy as np

from tests import testing
from engine.lr_sweep import suggest_learning_rate


def test_summary_prints_keras_style_table():
  result = testing.run_binary("trainers.summary", "--model=series_dnn")
  assert result.returncode == 0, result.stderr
  assert "Total params: 3,121" in result.stdout
  assert "(None, 100)" in result.stdout


def test_summary_help_lists_every_model():
  result = testing.run_binary("trainers.summary", "--model=help")
  assert result.returncode == 0, result.stderr
  for name in ("line", "series_dnn", "mnist_cnn", "imdb_bilstm"):
    assert re.search(rf"^{name}: ", result.stdout, re.M), name


def test_lr_find_sweeps_and_suggests(tmp_path):
  result = testing.run_binary("trainers.lr_find", "--model=line",
                              "--epochs=6", "--lr0=1e-3",
                              "--epochs_per_decade=2",
                              f"--model_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert "suggested learning rate:" in result.stdout
  sweep = json.loads((tmp_path / "lr_find.json").read_text())
  np.testing.assert_allclose(sweep["lr"], [1e-3 * 10 ** (e / 2)
                                           for e in range(6)], rtol=1e-5)
  assert list(tmp_path.glob("events.out.tfevents.*"))


def test_suggest_picks_minimum_of_smoothed_loss():
  lrs = 10.0 ** np.arange(-8, -3, 0.25)
  losses = np.abs(np.log10(lrs) + 5.5) + 1.0   # lowest near 3e-6
  losses[-2:] = np.nan                           # diverged at the end
  assert 1e-6 < suggest_learning_rate(lrs, losses) < 1e-5


def test_benchmark_prints_ratio():
  result = testing.run_binary("trainers.benchmark", "--model=line",
                              "--bench_epochs=2", "--repeats=1")
  assert result.returncode == 0, result.stderr
  assert re.search(r"^ratio: \d+\.\d\d$", result.stdout, re.M)
