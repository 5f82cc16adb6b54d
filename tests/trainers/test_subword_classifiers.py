"""`--tokenizer=subword` on the text classifiers beyond IMDB (issue 13):
bbc_embedding learns a subword vocabulary that predict_text, evaluate and
export restore from model_dir; sentiment_glove refuses it (GloVe has word
vectors only)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text import datasets, graph_tokenizer, pipelines, subword
from data.text.subword import SubwordTokenizer
from engine import classification
from models import registry
from tests import testing
from tests.trainers import runs
from tests.trainers import test_evaluate_validation as evaluate_validation
from trainers.common import exporting, restore, run_checks, session
from trainers.common import test_data

BBC_SUBWORD = {"tokenizer": "subword", "vocab_size": 120, "embedding_dim": 8,
               "max_length": 24, "batch_size": 16, "learning_rate": 0.05}


@pytest.fixture(scope="module")
def bbc_subword_run(tmp_path_factory):
  """A bbc_embedding run on subwords, trained until it knows the topics."""
  root = tmp_path_factory.mktemp("bbc_subword")
  # Each epoch retraces the tokenizing map (~0.5 s), so few long epochs.
  csv_path = runs.write_bbc_csv(root / "train.csv", runs.bbc_rows(200))
  trainer, data, hparams = runs.train_run(
      root / "run", "bbc_embedding", dict(BBC_SUBWORD, data_path=csv_path),
      train_steps=30)
  return root, trainer, data, hparams


def test_bbc_trains_on_a_subword_vocabulary_saved_in_model_dir(
    bbc_subword_run):
  root, trainer, data, hparams = bbc_subword_run
  tokenizer = data.info.tokenizer
  assert isinstance(tokenizer, SubwordTokenizer)
  assert hparams["tokenizer"] == "subword"
  assert hparams["vocab_size"] == tokenizer.vocab_size <= 120
  assert trainer.model.layers[0].embeddings.shape[0] == tokenizer.vocab_size
  saved = (root / "run" / "subword_vocab.txt").read_text(encoding="utf-8")
  assert saved == tokenizer.to_text()
  features, _ = next(iter(data.train(0)))
  assert features.shape[1] == 24  # The fixed length the model expects.
  assert trainer.evaluate(data.train(0))["accuracy"] >= 0.9


def test_predict_text_restores_the_bbc_subword_run(bbc_subword_run):
  root, trainer, data, hparams = bbc_subword_run
  run = restore.restore_text_run(str(root / "run"), "trainers.predict_text",
                                 "a text classifier")
  sentences = ["The striker scored a goal in the league match",
               "Shares fell as the bank's profit hit the market"]
  ids = run.encoder.encode(graph_tokenizer.prepare_texts(
      sentences, **graph_tokenizer.text_options(hparams)))
  restored = run.trainer.predict(tf.data.Dataset.from_tensor_slices(ids)
                                 .batch(2))
  np.testing.assert_allclose(restored, trainer.model(ids).numpy(), atol=1e-6)
  assert run.encoder.class_names == data.info.class_names
  names = [name for name, _ in classification.decode(
      restored, run.encoder.class_names)]
  assert names == [name for name, _ in classification.decode(
      trainer.model(ids).numpy(), data.info.class_names)]
  assert set(names) <= set(runs.BBC_CATEGORIES)


def test_evaluate_scores_the_validation_split_on_the_saved_vocabulary(
    bbc_subword_run, monkeypatch):
  root, trainer, data, _ = bbc_subword_run
  trained = trainer.evaluate(data.validation)
  evaluate_validation.forbid_fitting(monkeypatch)
  split, metrics = evaluate_validation.evaluate_in_process(root / "run")
  assert split == "validation"
  assert set(metrics) == set(trained)
  for name, value in trained.items():
    assert metrics[name] == pytest.approx(value, abs=1e-6), name


def test_evaluate_scores_a_bbc_test_csv_without_the_training_data(
    bbc_subword_run, monkeypatch):
  root, trainer, data, _ = bbc_subword_run
  test_path = runs.write_bbc_csv(root / "test.csv", runs.bbc_rows(10, 4))
  monkeypatch.setattr(subword.SubwordTokenizer, "learn", _refuse)
  recipe, hparams = session.load_run(str(root / "run"))
  with testing.moved_away(root / "train.csv"):
    dataset, names = test_data.read_test_split(
        recipe, hparams, str(root / "run"), test_path)
  assert names == data.info.class_names
  features = np.concatenate([x for x, _ in dataset.as_numpy_iterator()])
  assert features.shape == (10, 24)
  assert features.max() < hparams["vocab_size"]
  assert trainer.evaluate(dataset)["accuracy"] >= 0.6  # Chance: 0.2.


def test_export_serves_raw_bbc_texts_cut_to_the_trained_length(
    bbc_subword_run, tmp_path):
  root, trainer, data, hparams = bbc_subword_run
  export_dir = exporting.export_run(str(root / "run"), str(tmp_path / "1"),
                                    trainer=trainer)
  texts = ["", "The striker scored!", "Café 映画 shares",
           " ".join(["the market and the bank's profit"] * 10)]
  encoder = pipelines.load_inference_encoder(str(root / "run"))
  ids = encoder.encode(graph_tokenizer.prepare_texts(
      texts, **graph_tokenizer.text_options(hparams)))
  assert ids.shape == (4, 24)  # Stop words dropped, then cut "post".
  want = trainer.model(ids, training=False).numpy()
  loaded = tf.saved_model.load(export_dir)
  for signature, inputs in (("serving_default", {"texts": tf.constant(texts)}),
                            ("classify_ids", {"ids": tf.constant(ids)})):
    outputs = loaded.signatures[signature](**inputs)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), want,
                               atol=1e-5)
  names = np.array(data.info.class_names)[want.argmax(axis=1)]
  assert [n.decode() for n in outputs["class_names"].numpy()] == list(names)


def test_a_bbc_subword_rerun_reuses_or_refuses_the_vocabulary(
    bbc_subword_run, monkeypatch):
  root = bbc_subword_run[0]
  model_dir = str(root / "run")
  hparams = session.resolve_hparams(
      registry.get("bbc_embedding"),
      dict(BBC_SUBWORD, data_path=str(root / "train.csv")))
  monkeypatch.setattr(subword.SubwordTokenizer, "learn", _refuse)
  run_checks.check_vocabulary_unchanged(model_dir, hparams)
  reused = datasets.with_saved_vocabulary(hparams, model_dir)
  assert reused["vocab_file"] == os.path.join(model_dir, "subword_vocab.txt")
  data = registry.get("bbc_embedding").make_data(reused)
  assert data.info.tokenizer.to_text() == (
      root / "run" / "subword_vocab.txt").read_text(encoding="utf-8")
  changed = dict(hparams, remove_stopwords=False)
  with pytest.raises(Exception, match="remove_stopwords: True -> False"):
    run_checks.check_vocabulary_unchanged(model_dir, changed)


def _refuse(*_args, **_kwargs):
  raise AssertionError("the saved vocabulary must be used, not relearned")


def test_sentiment_glove_refuses_subwords_before_reading_data():
  hparams = dict(registry.get("sentiment_glove").hparams,
                 tokenizer="subword", data_path="/nonexistent.csv")
  with pytest.raises(DataError, match="GloVe word vectors.*--tokenizer=subword"):
    registry.get("sentiment_glove").make_data(hparams)


def test_the_sentiment_glove_binary_refuses_subwords(tmp_path):
  model_dir = tmp_path / "run"
  result = testing.run_binary("trainers.train", "--model=sentiment_glove",
                              "--tokenizer=subword",
                              f"--model_dir={model_dir}")
  testing.one_error_line(result, "sentiment_glove", "GloVe",
                         "--tokenizer=subword")
  assert not model_dir.exists()
