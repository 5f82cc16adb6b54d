"""Tiny NLP runs end to end: training, then generate / predict_text /
export_embeddings through the binaries on the trained model_dirs."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorboard.plugins.projector import projector_config_pb2

from engine.hooks import Hook
from models import text
from tests import testing
from tests.trainers import runs

CORPUS = ("The quick brown fox jumps over the lazy dog\n"
          "A stitch in time saves nine")
MEMORISED = "the quick brown fox jumps over the lazy dog"
# One step per epoch (the 13 prefixes of CORPUS make one batch). Training
# stops as soon as greedy generation reproduces the line, so the test does
# not depend on one CPU's float round-off; MAX_EPOCHS is a generous budget.
MAX_EPOCHS = 400
FILLER = ("movie", "plot", "actor", "scene", "story", "film", "cast", "music")


class StopWhen(Hook):
  """Ends training at the first epoch end where `done(trainer)` is true.

  Tests train to a criterion instead of a fixed epoch count, so they hold on
  any CPU (float round-off differs with AVX2/AVX-512 and oneDNN on or off).
  """

  def __init__(self, done):
    self.done = done
    self.epochs_run = 0

  def on_epoch_end(self, trainer, epoch, logs):
    self.epochs_run += 1
    if self.done(trainer):
      self.stop_reason = f"criterion met after {self.epochs_run} epochs"
    return self.stop_reason is not None


def memorised(data, seed_text: str, expected: str):
  """A criterion: greedy generation from `seed_text` gives `expected`."""
  words = len(expected.split()) - len(seed_text.split())

  def done(trainer):
    generator = text.TextGenerator(
        trainer.model, data.info.tokenizer, data.info.max_length)
    return generator.generate(seed_text, words) == expected
  return done


def perfect_on_train(data):
  """A criterion: every training example is classified correctly."""
  return lambda trainer: trainer.evaluate(data.train(0))["accuracy"] == 1.0


def train_run(model_dir, name: str, overrides: dict, epochs: int,
              stop_hook_fn=None):
  """Trains like trainers.train does, in-process; returns what it made.

  `stop_hook_fn(data)`, when given, makes a hook that ends training early.
  """
  recipe, trainer, data, hparams = runs.prepared_run(model_dir, name,
                                                   overrides)
  hooks = recipe.extra_hooks(hparams, data) if recipe.extra_hooks else []
  if stop_hook_fn is not None:
    hooks.append(stop_hook_fn(data))
  trainer.fit(data.train, epochs=epochs,
              steps_per_epoch=data.steps_per_epoch, hooks=hooks)
  return trainer, data, hooks


@pytest.fixture(scope="module")
def generator_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("generator")
  corpus = root / "corpus.txt"
  corpus.write_text(CORPUS)
  model_dir = root / "run"
  trainer, data, hooks = train_run(model_dir, "sonnets_generator", {
      "data_path": str(corpus), "embedding_dim": 16, "bilstm_units": 16,
      "lstm_units": 16, "dropout": 0.0, "l2": 0.0, "learning_rate": 0.05,
      "batch_size": 16, "sample_seed_text": "the quick",
      "sample_length": 3}, epochs=MAX_EPOCHS,
      stop_hook_fn=lambda data: StopWhen(
          memorised(data, "the quick", MEMORISED)))
  return model_dir, trainer, data, hooks


def write_reviews(root, per_class: int = 16) -> str:
  """An aclImdb train split whose label is given by one word."""
  rng = np.random.default_rng(0)
  for label, word in (("pos", "good"), ("neg", "bad")):
    folder = root / "aclImdb" / "train" / label
    folder.mkdir(parents=True)
    for i in range(per_class):
      words = list(rng.choice(FILLER, size=6))
      words.insert(int(rng.integers(0, 7)), word)
      (folder / f"{i}_5.txt").write_text(" ".join(words) + ".<br />")
  return str(root / "aclImdb")


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("classifier")
  model_dir = root / "run"
  trainer, data, _ = train_run(model_dir, "imdb_conv1d", {
      "data_path": write_reviews(root), "max_length": 10, "vocab_size": 30,
      "embedding_dim": 8, "batch_size": 8, "learning_rate": 0.01},
                               epochs=MAX_EPOCHS,
                               stop_hook_fn=lambda data: StopWhen(
                                   perfect_on_train(data)))
  return model_dir, trainer, data


def event_texts(logdir: str, tag: str) -> list[str]:
  texts = []
  for path in sorted(glob.glob(os.path.join(logdir, "events.out.*"))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          texts.append(tf.make_ndarray(value.tensor).item().decode())
  return texts


one_error_line = testing.one_error_line


# --- the generator ------------------------------------------------------------


def test_generator_memorises_a_line_and_logs_samples(generator_run):
  model_dir, trainer, data, hooks = generator_run
  generator = text.TextGenerator(
      trainer.model, data.info.tokenizer, data.info.max_length)
  assert generator.generate("the quick", 7) == MEMORISED
  epochs_run = hooks[-1].epochs_run
  assert epochs_run < MAX_EPOCHS
  samples = event_texts(str(model_dir / "train"), "sample")
  assert len(samples) == epochs_run
  assert samples[-1] == hooks[0].last_sample == "the quick brown fox jumps"


def test_generate_binary_continues_the_seed_greedily(generator_run):
  model_dir = generator_run[0]
  result = testing.run_binary("trainers.generate", f"--model_dir={model_dir}",
                              "--seed_text=the quick", "--next_words=7")
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == MEMORISED


def test_generate_binary_names_a_seed_text_of_unknown_words(generator_run):
  model_dir = generator_run[0]
  result = testing.run_binary("trainers.generate", f"--model_dir={model_dir}",
                              "--seed_text=zebra quagga")
  one_error_line(result, "'zebra quagga' has no word", "the training "
                 "vocabulary")


# --- the classifier -----------------------------------------------------------


def test_conv1d_learns_a_one_word_sentiment_perfectly(classifier_run):
  _, trainer, data = classifier_run
  assert trainer.evaluate(data.train(0))["accuracy"] == 1.0


def test_predict_text_binary_prints_class_and_probability(classifier_run):
  model_dir = classifier_run[0]
  result = testing.run_binary("trainers.predict_text",
                              f"--model_dir={model_dir}",
                              "a good movie", "the plot was bad")
  assert result.returncode == 0, result.stderr
  lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
  assert [(l[0], l[2]) for l in lines] == [("pos", "a good movie"),
                                           ("neg", "the plot was bad")]
  assert all(0.5 <= float(l[1]) <= 1.0 for l in lines)


def test_export_embeddings_files_line_up_with_the_vocabulary(
    classifier_run, tmp_path):
  model_dir, trainer, data = classifier_run
  result = testing.run_binary("trainers.export_embeddings",
                              f"--model_dir={model_dir}",
                              f"--output_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  tokenizer = data.info.tokenizer
  words = (tmp_path / "meta.tsv").read_text().splitlines()
  # Every fitted word below num_words, by index from 1 (0 is padding).
  expected = [tokenizer.index_word[i]
              for i in range(1, min(tokenizer.vocab_size, 30))]
  assert words == expected and words[0] == "<OOV>"
  vectors = np.loadtxt(tmp_path / "vecs.tsv", delimiter="\t", ndmin=2)
  table = trainer.model.layers[0].embeddings.numpy()
  np.testing.assert_allclose(vectors, table[1:len(words) + 1], rtol=1e-6)
  config = text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(),
                             projector_config_pb2.ProjectorConfig())
  (embedding,) = config.embeddings
  assert (embedding.tensor_path, embedding.metadata_path) == ("vecs.tsv",
                                                              "meta.tsv")


# --- restoring needs only model_dir -------------------------------------------


def test_generate_works_after_the_corpus_is_gone(generator_run):
  model_dir, trainer, data, _ = generator_run
  with testing.moved_away(model_dir.parent / "corpus.txt"):
    result = testing.run_binary("trainers.generate",
                                f"--model_dir={model_dir}",
                                "--seed_text=the quick", "--next_words=7")
  assert result.returncode == 0, result.stderr
  in_process = text.TextGenerator(
      trainer.model, data.info.tokenizer, data.info.max_length)
  assert result.stdout.strip() == in_process.generate("the quick", 7)


def test_predict_text_works_after_the_reviews_are_gone(classifier_run):
  model_dir = classifier_run[0]
  with testing.moved_away(model_dir.parent / "aclImdb"):
    result = testing.run_binary("trainers.predict_text",
                                f"--model_dir={model_dir}", "a good movie")
  assert result.returncode == 0, result.stderr
  assert result.stdout.split("\t")[0] == "pos"


def test_export_embeddings_works_after_the_reviews_are_gone(classifier_run,
                                                            tmp_path):
  model_dir = classifier_run[0]
  with testing.moved_away(model_dir.parent / "aclImdb"):
    result = testing.run_binary("trainers.export_embeddings",
                                f"--model_dir={model_dir}",
                                f"--output_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert (tmp_path / "meta.tsv").read_text().splitlines()[0] == "<OOV>"
