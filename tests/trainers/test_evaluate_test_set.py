"""trainers.evaluate --data_path: held-out test sets read with the trained
preprocessing (IDX files, an image folder, aclImdb test/, a BBC CSV)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from data.images import bundles
from data.text import graph_tokenizer
from data.text.pipelines import load_inference_encoder
from tests import testing
from tests.trainers import runs
from trainers.common import test_data

SIZE = 32


def metrics_json(model_dir) -> dict:
  with open(os.path.join(model_dir, "metrics.json")) as f:
    return json.load(f)


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
  outputs = np.asarray(outputs)
  if outputs.shape[-1] == 1:
    predicted = (outputs[:, 0] >= 0.5).astype(int)
  else:
    predicted = outputs.argmax(axis=1)
  return float(np.mean(predicted == np.asarray(labels).reshape(-1)))


one_error_line = testing.one_error_line


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("mnist")
  runs.write_idx_split(root / "train", "train", *runs.digits(40, seed=0))
  test_images, test_labels = runs.digits(15, seed=1)
  runs.write_idx_split(root / "test", "t10k", test_images, test_labels)
  trainer, _, _ = runs.train_run(root / "run", "mnist_dnn", {
      "data_path": str(root / "train"), "batch_size": 8}, train_steps=3)
  pixels = test_images[..., None].astype(np.float32) * bundles.RESCALE
  outputs = trainer.predict(tf.data.Dataset.from_tensor_slices(
      pixels).batch(8))
  return root, outputs, test_labels


def test_evaluate_scores_mnist_idx_test_files(mnist_run):
  root, outputs, labels = mnist_run
  model_dir = root / "run"
  result = testing.run_binary("trainers.evaluate", f"--model_dir={model_dir}",
                              f"--data_path={root / 'test'}")
  assert result.returncode == 0, result.stderr
  stored = metrics_json(model_dir)["test"][str(root / "test")]
  assert stored["accuracy"] == pytest.approx(accuracy(outputs, labels),
                                             abs=1e-6)
  matrix = np.array(stored["confusion_matrix"])
  assert matrix.shape == (10, 10) and matrix.sum() == len(labels)
  np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(labels, 
                                                                minlength=10))
  assert stored["class_names"] == [str(d) for d in range(10)]
  assert "on test set" in result.stdout and "accuracy" in result.stdout


def test_evaluate_keeps_other_sections_and_names_the_split(mnist_run):
  root, _, _ = mnist_run
  model_dir = root / "run"
  result = testing.run_binary("trainers.evaluate", f"--model_dir={model_dir}",
                              f"--data_path={root / 'test'}",
                              "--split_name=t10k")
  assert result.returncode == 0, result.stderr
  tests = metrics_json(model_dir)["test"]
  assert set(tests) >= {"t10k"}
  assert tests["t10k"]["data_path"] == str(root / "test")


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("folders")
  runs.write_image_tree(str(root / "train"), runs.shape_images(4, SIZE))
  runs.write_image_tree(str(root / "test"), runs.shape_images(3, 45, seed=5))
  trainer, _, _ = runs.train_run(root / "run", "happy_sad_cnn", {
      "data_path": str(root / "train"), "image_size": SIZE,
      "batch_size": 4})
  return root, trainer


def test_image_folder_test_set_uses_the_trained_size_and_classes(folder_run):
  root, trainer = folder_run
  recipe_hparams = _run(root / "run")
  dataset, names = test_data.read_test_split(*recipe_hparams,
                                             str(root / "run"),
                                             str(root / "test"))
  assert names == ["discs", "squares"]
  files = sorted(str(p) for p in (root / "test").glob("*/*.png"))
  pixels = bundles.load_image_files(files, (SIZE, SIZE, 3))
  images = np.concatenate([x for x, _ in dataset.as_numpy_iterator()])
  labels = np.concatenate([y for _, y in dataset.as_numpy_iterator()])
  np.testing.assert_array_equal(images, pixels)
  np.testing.assert_array_equal(labels.reshape(-1), [0] * 3 + [1] * 3)
  metrics = trainer.evaluate(dataset)
  assert metrics["accuracy"] == pytest.approx(
      accuracy(trainer.predict(dataset), labels), abs=1e-6)


def test_image_folder_with_other_classes_is_one_error_line(folder_run,
                                                           tmp_path):
  root, _ = folder_run
  images = runs.shape_images(2, SIZE)
  runs.write_image_tree(str(tmp_path / "odd"), {
      "discs": images["discs"], "triangles": images["squares"]})
  before = metrics_json(root / "run") if os.path.exists(
      root / "run" / "metrics.json") else None
  result = testing.run_binary("trainers.evaluate",
                              f"--model_dir={root / 'run'}",
                              f"--data_path={tmp_path / 'odd'}")
  one_error_line(result, "discs, triangles", "discs, squares",
                 "missing: squares", "not trained: triangles")
  after = metrics_json(root / "run") if os.path.exists(
      root / "run" / "metrics.json") else None
  assert before == after


def _run(model_dir):
  from trainers.common import session
  return session.load_run(str(model_dir))


def test_imdb_test_split_uses_the_saved_tokenizer(tmp_path):
  acl = runs.write_imdb(str(tmp_path), per_class=10)
  trainer, _, hparams = runs.train_run(tmp_path / "run", "imdb_embedding_gap",
                                       {"data_path": acl, "max_length": 10,
                                        "vocab_size": 30, "embedding_dim": 4,
                                        "batch_size": 8})
  # Words never seen in training must become OOV, not new ids.
  with open(os.path.join(acl, "test", "pos", "0_9.txt"), "w") as f:
    f.write("a brand new unseen vocabulary good")
  encoder = load_inference_encoder(tmp_path / "run")
  for path in (acl, os.path.join(acl, "test")):
    dataset, names = test_data.read_test_split(*_run(tmp_path / "run"),
                                               str(tmp_path / "run"), path)
    assert names == ["neg", "pos"]
    ids = np.concatenate([x for x, _ in dataset.as_numpy_iterator()])
    labels = np.concatenate([y for _, y in dataset.as_numpy_iterator()])
    from data.text import readers
    split = readers.read_imdb(acl)["test"]
    np.testing.assert_array_equal(ids, encoder.encode(split.texts))
    np.testing.assert_array_equal(labels, split.labels)
    assert ids.max() < 30
  metrics = trainer.evaluate(dataset)
  assert metrics["accuracy"] == pytest.approx(
      accuracy(trainer.predict(dataset), labels), abs=1e-6)


def test_bbc_csv_test_set_and_unknown_categories(tmp_path):
  csv_path = runs.write_bbc_csv(tmp_path / "train.csv", runs.bbc_rows(30))
  trainer, _, hparams = runs.train_run(tmp_path / "run", "bbc_embedding", {
      "data_path": csv_path, "vocab_size": 40, "max_length": 12,
      "embedding_dim": 4})
  rows = runs.bbc_rows(12, seed=3)
  test_csv = runs.write_bbc_csv(tmp_path / "test.csv", rows)
  dataset, names = test_data.read_test_split(*_run(tmp_path / "run"),
                                             str(tmp_path / "run"), test_csv)
  encoder = load_inference_encoder(tmp_path / "run")
  ids = np.concatenate([x for x, _ in dataset.as_numpy_iterator()])
  labels = np.concatenate([y for _, y in dataset.as_numpy_iterator()])
  texts = graph_tokenizer.prepare_texts([t for _, t in rows],
                                        remove_stopwords=True)
  np.testing.assert_array_equal(ids, encoder.encode(texts))
  np.testing.assert_array_equal(
      labels, encoder.labels.encode([c for c, _ in rows]))
  assert names[1:] == encoder.labels.classes
  metrics = trainer.evaluate(dataset)
  assert metrics["accuracy"] == pytest.approx(
      accuracy(trainer.predict(dataset), labels), abs=1e-6)
  odd = runs.write_bbc_csv(tmp_path / "odd.csv", rows + [("weather",
                                                          "rain again")])
  from data.errors import DataError
  with pytest.raises(DataError, match="not trained on: weather"):
    test_data.read_test_split(*_run(tmp_path / "run"), str(tmp_path / "run"),
                              odd)
