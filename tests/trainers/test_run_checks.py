"""trainers.common.run_checks: run files, artifacts, paths, hyper-parameter values."""

from __future__ import annotations

import os

import pytest

from trainers.common import run_checks
from trainers.common.cli import UsageError


@pytest.mark.parametrize("name, text", [
    ("config.json", '{"model": "series_dnn"}'),
    ("metrics.json", "[1, 2]"),
    ("history.json", '{"epoch": 3}'),
    ("config.json", "{broken"),
])
def test_broken_run_files_name_the_file(tmp_path, name, text):
  (tmp_path / name).write_text(text)
  with pytest.raises(UsageError, match=name):
    run_checks.check_run_files(str(tmp_path))


def test_well_formed_run_files_pass(tmp_path):
  (tmp_path / "config.json").write_text('{"model": "m", "hparams": {}}')
  (tmp_path / "metrics.json").write_text('{"train": {}}')
  (tmp_path / "history.json").write_text('{"epoch": [0], "history": {}}')
  run_checks.check_run_files(str(tmp_path))


def test_changed_artifact_of_a_trained_run_is_refused(tmp_path):
  (tmp_path / "tokenizer.json").write_text('{"the": 1}')
  artifacts = {"tokenizer.json": '{"a": 1}'}
  run_checks.check_artifacts_unchanged(str(tmp_path), artifacts)  # untrained
  (tmp_path / "ckpt-5.index").write_bytes(b"")
  with pytest.raises(UsageError, match="tokenizer.json.*--data_path"):
    run_checks.check_artifacts_unchanged(str(tmp_path), artifacts)
  run_checks.check_artifacts_unchanged(
      str(tmp_path), {"tokenizer.json": '{"the": 1}'})


def test_artifacts_equal_up_to_json_key_order_are_the_same():
  assert run_checks.same_artifact('{"a": "{\\"x\\": 1, \\"y\\": 2}"}',
                                  '{"a": "{\\"y\\": 2, \\"x\\": 1}"}')
  assert not run_checks.same_artifact('{"w": {"the": 1}}', '{"w": {"a": 1}}')
  assert not run_checks.same_artifact("the\na", "a\nthe")


def test_paths_become_absolute_with_tilde_expanded():
  hparams = run_checks.absolute_paths(
      {"data_path": "~/x.csv", "validation_dir": "val", "epochs": 3})
  assert hparams["data_path"] == os.path.expanduser("~/x.csv")
  assert hparams["validation_dir"] == os.path.abspath("val")
  assert hparams["epochs"] == 3


@pytest.mark.parametrize("key, value", [
    ("batch_size", 0), ("epochs", -3), ("learning_rate", float("inf")),
    ("learning_rate", float("nan"))])
def test_non_positive_or_infinite_hparams_are_refused(key, value):
  with pytest.raises(UsageError, match=key):
    run_checks.check_hparam_values({key: value})


def test_hparams_changed_since_the_stored_run_are_named(tmp_path):
  (tmp_path / "config.json").write_text(
      '{"model": "series_dnn", "hparams": {"window_size": 20, "epochs": 3, '
      '"data_path": "/a.csv", "seed": 1}}')
  changed = run_checks.hparams_changed_since(
      str(tmp_path), {"window_size": 7, "epochs": 9, "data_path": "/b.csv",
                      "seed": 1, "new_key": 2})
  assert changed == ["window_size=20 (now 7)"]
  assert run_checks.hparams_changed_since(str(tmp_path / "none"), {}) == []
