"""trainers.evaluate without --data_path reads only the validation split,
through the preprocessing saved in model_dir (never refitted), and a
subword run resumes on its saved vocabulary (issues 9, 8 part 4, 13)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from data.errors import DataError
from data.images import bundles as image_bundles
from data.series import pipeline as series_pipeline
from data.text import datasets, pipelines, subword, subword_pipeline
from data.text.tokenizer import Tokenizer
from models import registry
from tests import testing
from tests.trainers import runs
from trainers.common import test_data
from trainers.common import cli, run_checks, session

SUBWORD_RUN = {"vocab_size": 60, "embedding_dim": 4, "seed": 42}
SUBWORD_FLAGS = ("--vocab_size=60", "--embedding_dim=4", "--seed=42",
                 "--batch_size=8")


def train(model_dir, model: str, overrides: dict) -> dict:
  """Trains a few steps in-process (as trainers.train); returns the final
  validation metrics the training run reports."""
  trainer, data, _ = runs.train_run(model_dir, model,
                                    dict(overrides, batch_size=8),
                                    train_steps=3)
  return trainer.evaluate(data.validation)


def train_binary(model_dir, model: str, *args: str):
  return testing.run_binary("trainers.train", f"--model={model}",
                            f"--model_dir={model_dir}", *args)


def files_of(model_dir) -> dict[str, bytes]:
  return {name: (model_dir / name).read_bytes() for name in sorted(
      os.listdir(model_dir)) if (model_dir / name).is_file()}


def _refuse(*_args, **_kwargs):
  raise AssertionError("evaluate must not read the training data or fit")


def forbid_fitting(monkeypatch) -> None:
  """Every tokenizer fit, vocabulary learning and make_data builder
  (text, series, image folders, image arrays) raises."""
  monkeypatch.setattr(Tokenizer, "fit_on_texts", _refuse)
  monkeypatch.setattr(subword.SubwordTokenizer, "learn", _refuse)
  monkeypatch.setattr(subword, "learn_vocabulary", _refuse)
  for module, name in ((pipelines, "bbc_bundle"), (pipelines, "imdb_bundle"),
                       (pipelines, "sentiment140_glove_bundle"),
                       (subword_pipeline, "imdb_bundle"),
                       (subword_pipeline, "bbc_bundle"),
                       (series_pipeline, "load_series"),
                       (image_bundles, "image_folder_bundle"),
                       (image_bundles, "load_arrays")):
    monkeypatch.setattr(module, name, _refuse)


def evaluate_in_process(model_dir) -> tuple[str, dict]:
  """What trainers.evaluate scores without --data_path, and the metrics."""
  recipe, hparams = session.load_run(str(model_dir))
  dataset, split, _ = test_data.scored_split(recipe, hparams, str(model_dir))
  trainer = session.restored_trainer(
      recipe, hparams, str(model_dir),
      session.input_spec(recipe, hparams, str(model_dir)))
  return split, trainer.evaluate(dataset)


@pytest.fixture(scope="module")
def bbc_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("bbc")
  csv_path = runs.write_bbc_csv(root / "train.csv", runs.bbc_rows(40))
  trained = train(root / "run", "bbc_embedding", {
      "data_path": csv_path, "vocab_size": 40, "max_length": 12,
      "embedding_dim": 4})
  return root, trained


@pytest.fixture(scope="module")
def imdb_word_run(tmp_path_factory):
  """A word run on an aclImdb train split alone: validation is the last
  20% of the seeded shuffle."""
  root = tmp_path_factory.mktemp("imdb_word")
  acl = runs.write_imdb(str(root / "data"), splits=("train",), per_class=15)
  trained = train(root / "run", "imdb_embedding_gap", {
      "data_path": acl, "vocab_size": 30, "max_length": 10,
      "embedding_dim": 4, "seed": 3})
  return root, trained


@pytest.fixture(scope="module")
def subword_run(tmp_path_factory):
  """A subword run on aclImdb train + test: the test split validates."""
  root = tmp_path_factory.mktemp("imdb_subword")
  acl = runs.write_imdb(str(root / "data"), per_class=10)
  trained = train(root / "run", "imdb_subwords_gap", SUBWORD_RUN | {
      "data_path": acl})
  return root, trained, acl


@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("series")
  values = np.sin(np.arange(120) / 5.0) * 10 + 20
  lines = ["Date,Temp"] + [f"1981-01-{i % 28 + 1:02d},{v}"
                           for i, v in enumerate(values)]
  (root / "s.csv").write_text("\n".join(lines))
  trained = train(root / "run", "series_dnn", {
      "data_path": str(root / "s.csv"), "window_size": 5, "split_time": 90,
      "value_column": "Temp"})
  return root, trained


IMAGE_SIZE = 32


@pytest.fixture(scope="module")
def folder_split_run(tmp_path_factory):
  """Image folders with validation_split: the first third of each class."""
  root = tmp_path_factory.mktemp("folder_split")
  runs.write_image_tree(str(root / "train"), runs.shape_images(6, IMAGE_SIZE))
  trained = train(root / "run", "happy_sad_cnn", {
      "data_path": str(root / "train"), "image_size": IMAGE_SIZE,
      "validation_split": 0.34})
  return root, trained


@pytest.fixture(scope="module")
def folder_dir_run(tmp_path_factory):
  """Image folders with a validation_dir."""
  root = tmp_path_factory.mktemp("folder_dir")
  runs.write_image_tree(str(root / "train"), runs.shape_images(4, IMAGE_SIZE))
  runs.write_image_tree(str(root / "val"),
                        runs.shape_images(3, IMAGE_SIZE, seed=4))
  trained = train(root / "run", "happy_sad_cnn", {
      "data_path": str(root / "train"), "validation_dir": str(root / "val"),
      "image_size": IMAGE_SIZE})
  return root, trained


@pytest.fixture(scope="module")
def idx_run(tmp_path_factory):
  """MNIST IDX train + t10k: t10k validates."""
  root = tmp_path_factory.mktemp("idx")
  runs.write_idx_split(root / "mnist", "train", *runs.digits(24))
  runs.write_idx_split(root / "mnist", "t10k", *runs.digits(10, seed=1))
  trained = train(root / "run", "mnist_dnn", {"data_path": str(root / "mnist")})
  return root, trained


@pytest.mark.parametrize("run", ["bbc_run", "imdb_word_run", "subword_run",
                                 "series_run", "folder_split_run",
                                 "folder_dir_run", "idx_run"])
def test_evaluate_matches_training_without_refitting(run, request,
                                                     monkeypatch):
  root, trained = request.getfixturevalue(run)[:2]
  forbid_fitting(monkeypatch)
  split, metrics = evaluate_in_process(root / "run")
  assert split == "validation"
  assert set(metrics) == set(trained)
  for name, value in trained.items():
    assert metrics[name] == pytest.approx(value, abs=1e-6), name


def test_the_evaluate_binary_stores_the_training_figures(bbc_run):
  root, trained = bbc_run
  result = testing.run_binary("trainers.evaluate",
                              f"--model_dir={root / 'run'}")
  assert result.returncode == 0, result.stderr
  assert "on the validation split" in result.stdout
  with open(root / "run" / "metrics.json") as f:
    stored = json.load(f)["evaluate"]
  for name, value in trained.items():
    assert stored[name] == pytest.approx(value, abs=1e-6), name


def test_evaluate_names_missing_validation_data(bbc_run):
  root = bbc_run[0]
  recipe, hparams = session.load_run(str(root / "run"))
  with testing.moved_away(root / "train.csv"):
    with pytest.raises(DataError, match=str(root / "train.csv")):
      test_data.scored_split(recipe, hparams, str(root / "run"))


def test_a_resumed_subword_run_reads_its_saved_vocabulary(subword_run,
                                                          monkeypatch):
  root, _, acl = subword_run
  model_dir = str(root / "run")
  monkeypatch.setattr(subword.SubwordTokenizer, "learn", _refuse)
  recipe = registry.get("imdb_subwords_gap")
  hparams = session.resolve_hparams(recipe, SUBWORD_RUN | {
      "data_path": acl, "batch_size": 8})
  run_checks.check_vocabulary_unchanged(model_dir, hparams)
  data = recipe.make_data(datasets.with_saved_vocabulary(hparams, model_dir))
  saved = (root / "run" / "subword_vocab.txt").read_text(encoding="utf-8")
  assert data.info.tokenizer.to_text() == saved
  assert "vocab_file" not in hparams  # make_data's copy only.


@pytest.mark.parametrize("change", [{"vocab_size": 50}, {"data_path": "copy"},
                                    {"seed": 5}])
def test_a_subword_rerun_that_changes_the_vocabulary_is_refused(
    subword_run, change, tmp_path):
  root, _, acl = subword_run
  hparams = dict(registry.get("imdb_subwords_gap").hparams, data_path=acl,
                 vocab_size=60, seed=42)
  if change.get("data_path") == "copy":
    change = {"data_path": shutil.copytree(acl, tmp_path / "aclImdb")}
  hparams.update(change)
  with pytest.raises(cli.UsageError, match=f"{next(iter(change))}: .* -> "):
    run_checks.check_vocabulary_unchanged(str(root / "run"), hparams)


def test_subword_resume_binary_refuses_or_resumes(subword_run):
  root, _, acl = subword_run
  model_dir = root / "run"
  before = files_of(model_dir)
  refused = train_binary(model_dir, "imdb_subwords_gap", f"--data_path={acl}",
                         *SUBWORD_FLAGS, "--vocab_size=50", "--epochs=2")
  testing.one_error_line(refused, str(model_dir / "subword_vocab.txt"),
                 "vocab_size: 60 -> 50", "nothing was changed")
  assert files_of(model_dir) == before
  resumed = train_binary(model_dir, "imdb_subwords_gap", f"--data_path={acl}",
                         *SUBWORD_FLAGS, "--epochs=2")
  assert resumed.returncode == 0, resumed.stderr
  after = files_of(model_dir)
  assert after["subword_vocab.txt"] == before["subword_vocab.txt"]
  assert json.loads(after["metrics.json"])["train"]["epochs"] == 2


def test_a_word_rerun_on_other_data_keeps_the_tokenizer(bbc_run):
  root = bbc_run[0]
  other = runs.write_bbc_csv(root / "other.csv",
                             [(c, t.replace("match", "tennis"))
                              for c, t in runs.bbc_rows(40, seed=9)])
  before = files_of(root / "run")
  result = train_binary(root / "run", "bbc_embedding", f"--data_path={other}",
                        "--vocab_size=40", "--max_length=12", "--epochs=2",
                        "--embedding_dim=4", "--batch_size=8")
  testing.one_error_line(result, "tokenizer.json", "nothing was changed")
  assert files_of(root / "run") == before


@pytest.mark.parametrize("run", ["bbc_run", "subword_run"])
def test_evaluate_a_test_set_after_the_training_data_is_gone(run, request):
  root = request.getfixturevalue(run)[0]
  if run == "bbc_run":
    training = root / "train.csv"
    test_path = runs.write_bbc_csv(root / "test.csv", runs.bbc_rows(10, 4))
  else:
    training = request.getfixturevalue(run)[2]
    test_path = runs.write_imdb(str(root / "held_out"), splits=("test",),
                                per_class=6, seed=7)
  with testing.moved_away(training):
    scored = testing.run_binary("trainers.evaluate",
                                f"--model_dir={root / 'run'}",
                                f"--data_path={test_path}")
  assert scored.returncode == 0, scored.stderr
  with open(root / "run" / "metrics.json") as f:
    assert "accuracy" in json.load(f)["test"][test_path]
