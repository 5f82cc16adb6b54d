"""The course's subwords8k models: summary totals at 8,185 subwords, tiny
end-to-end runs, and the binaries (train, predict_text, export_embeddings)
on a subword run."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from data.errors import DataError
from data.text.subword import SubwordTokenizer
from models import registry
from data.text import datasets as text_datasets
from tests.trainers import test_text_binaries as text_binaries
from tests import testing

COURSE_TOTALS = {  # model.summary() totals printed in the course.
    "imdb_subwords_gap": 524_237,
    "imdb_subwords_bilstm": 598_209,
    "imdb_subwords_stacked_bilstm": 635_329,
    "imdb_subwords_conv1d": 573_249,
}
FILLER = ("the movie", "a plot", "actors", "this scene", "the story",
          "its cast", "music", "film")
TINY = {"vocab_size": 60, "embedding_dim": 8, "batch_size": 8,
        "learning_rate": 0.01}


def parameters(model) -> int:
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


@pytest.mark.parametrize("name", sorted(COURSE_TOTALS))
def test_course_totals_at_8185_subwords(name):
  recipe = registry.get(name)
  assert recipe.hparams["tokenizer"] == "subword"
  assert recipe.hparams["vocab_size"] == 8185
  hparams = dict(recipe.hparams)
  shape, dtype = recipe.input_shape(hparams)
  assert shape == (None,) and dtype == tf.int32
  model = recipe.build_model(hparams)
  for length in (7, 31):  # Any length, as the course's padded batches.
    assert model(np.ones([2, length], np.int32)).shape == (2, 1)
  assert parameters(model) == COURSE_TOTALS[name]


def test_the_word_bilstm_reaches_the_course_total_on_8185_subwords():
  recipe = registry.get("imdb_bilstm")
  hparams = dict(recipe.hparams, tokenizer="subword", vocab_size=8185)
  model = recipe.build_model(hparams)
  model(np.ones([1, 9], np.int32))
  assert parameters(model) == 598_209


def write_reviews(root, per_class: int = 16) -> str:
  """An aclImdb train split whose label is one word among filler."""
  rng = np.random.default_rng(0)
  for label, word in (("pos", "good"), ("neg", "bad")):
    folder = root / "aclImdb" / "train" / label
    folder.mkdir(parents=True)
    for i in range(per_class):
      parts = list(rng.choice(FILLER, size=4))
      parts.insert(int(rng.integers(0, 5)), word)
      (folder / f"{i}_5.txt").write_text(", ".join(parts) + ".<br />")
  return str(root / "aclImdb")


def train_run(model_dir, name: str, overrides: dict, epochs: int):
  """Trains as trainers.train does, in-process; adds the hparams it saved."""
  trainer, data, _ = text_binaries.train_run(model_dir, name, overrides,
                                             epochs)
  config = json.loads((model_dir / "config.json").read_text())
  return trainer, data, config["hparams"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
  return write_reviews(tmp_path_factory.mktemp("reviews"))


@pytest.mark.parametrize("name", sorted(COURSE_TOTALS))
def test_each_subword_model_trains_end_to_end(name, reviews, tmp_path):
  trainer, data, hparams = train_run(tmp_path, name,
                                     dict(TINY, data_path=reviews), epochs=3)
  tokenizer = data.info.tokenizer
  assert isinstance(tokenizer, SubwordTokenizer)
  assert hparams["vocab_size"] == tokenizer.vocab_size <= 60
  assert trainer.model.layers[0].embeddings.shape[0] == tokenizer.vocab_size
  assert trainer.epochs_done == 3
  assert np.isfinite(trainer.evaluate(data.train(0))["loss"])
  assert (tmp_path / "subword_vocab.txt").exists()
  assert np.isfinite(trainer.evaluate(data.validation)["loss"])


@pytest.fixture(scope="module")
def gap_run(reviews, tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("subword_run")
  trainer, data, _ = train_run(model_dir, "imdb_subwords_gap",
                                  dict(TINY, learning_rate=0.05,
                                       data_path=reviews), epochs=25)
  return model_dir, trainer, data


def test_pooling_learns_the_one_word_sentiment(gap_run):
  _, trainer, data = gap_run
  assert trainer.evaluate(data.train(0))["accuracy"] >= 0.9


def test_tensorboard_shows_how_a_review_splits_into_subwords(gap_run):
  model_dir, _, data = gap_run
  texts = []
  for path in glob.glob(os.path.join(model_dir, "train", "events.out.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      texts += [tf.make_ndarray(v.tensor).item().decode()
                for v in event.summary.value if v.tag == "subwords"]
  assert len(texts) == 1
  tokenizer = data.info.tokenizer
  first = tokenizer.encode(data.info.sample_text)[0]
  assert f"| {first} | `{tokenizer.index_word[first]}` |" in texts[0]
  assert "vocab_size " + str(tokenizer.vocab_size) in texts[0]


def test_predict_text_restores_the_subword_tokenizer(gap_run):
  model_dir = gap_run[0]
  result = testing.run_binary("trainers.predict_text",
                              f"--model_dir={model_dir}",
                              "a good movie, good music", "bad. the plot")
  assert result.returncode == 0, result.stderr
  lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
  assert [l[0] for l in lines] == ["pos", "neg"]


def test_export_embeddings_writes_one_row_per_subword_piece(gap_run,
                                                             tmp_path):
  model_dir, trainer, data = gap_run
  result = testing.run_binary("trainers.export_embeddings",
                              f"--model_dir={model_dir}",
                              f"--output_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  tokenizer = data.info.tokenizer
  pieces = (tmp_path / "meta.tsv").read_text(encoding="utf-8").split("\n")
  assert pieces[:-1] == tokenizer.vocabulary[1:]
  vectors = np.loadtxt(tmp_path / "vecs.tsv", delimiter="\t", ndmin=2)
  np.testing.assert_allclose(
      vectors, trainer.model.layers[0].embeddings.numpy()[1:], rtol=1e-6)


def test_the_tokenizer_flag_switches_a_word_recipe_to_subwords(reviews,
                                                               tmp_path):
  model_dir = tmp_path / "run"
  result = testing.run_binary(
      "trainers.train", "--model=imdb_embedding_gap", "--tokenizer=subword",
      f"--data_path={reviews}", f"--model_dir={model_dir}", "--vocab_size=60",
      "--embedding_dim=4", "--max_length=12", "--epochs=1", "--export")
  assert result.returncode == 0, result.stderr
  config = json.loads((model_dir / "config.json").read_text())
  assert config["hparams"]["tokenizer"] == "subword"
  vocab = (model_dir / "subword_vocab.txt").read_text().split("\n")[:-1]
  assert config["hparams"]["vocab_size"] == len(vocab) <= 60
  # --export writes the subword serving module: raw strings in (what it
  # computes is checked in tests/trainers/test_export.py).
  saved_model, = glob.glob(os.path.join(model_dir, "export", "*",
                                        "saved_model.pb"))
  with open(saved_model, "rb") as f:
    proto = saved_model_pb2.SavedModel.FromString(f.read())
  signatures = proto.meta_graphs[0].signature_def
  assert {"classify_ids", "serving_default"} <= set(signatures)
  texts = signatures["serving_default"].inputs
  assert list(texts) == ["texts"]
  assert texts["texts"].dtype == tf.string.as_datatype_enum


def test_an_unknown_tokenizer_is_refused_before_anything_is_written(
    tmp_path):
  model_dir = tmp_path / "run"
  result = testing.run_binary("trainers.train", "--model=imdb_subwords_gap",
                              "--tokenizer=bpe", f"--model_dir={model_dir}")
  assert result.returncode != 0 and "--tokenizer must be word or subword" \
      in result.stderr
  assert not model_dir.exists()
  with pytest.raises(DataError, match="tokenizer must be 'word' or"):
    text_datasets.tokenizer_kind({"tokenizer": "bpe"})
