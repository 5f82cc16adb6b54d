"""Text DataBundles on tiny corpora, plus label encoding and stop words."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text import pipelines
from data.text.labels import LabelEncoder
from data.text.stopwords import STOPWORDS, remove_stopwords

BBC_ROWS = [
    ("sport", "the team won the cup"),
    ("business", "shares fell on the market"),
    ("sport", "a great goal in the final"),
    ("tech", "new phone has a fast chip"),
    ("sport", "the striker scored twice"),
    ("business", "the bank raised rates"),
    ("tech", "the chip maker grew"),
    ("sport", "fans cheered the win"),
    ("business", "profits rose at the firm"),
    ("politics", "the minister gave a speech"),
]
BBC_HPARAMS = {"vocab_size": 20, "max_length": 5, "batch_size": 3, "seed": 7,
               "training_portion": 0.8}


def write(tmp_path, name: str, content: str) -> str:
  path = tmp_path / name
  path.write_text(content, encoding="utf-8")
  return str(path)


def bbc_csv(tmp_path) -> str:
  body = "".join(f"{c},{t}\n" for c, t in BBC_ROWS)
  return write(tmp_path, "bbc.csv", "category,text\n" + body)


def all_batches(dataset: tf.data.Dataset):
  xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
  return np.concatenate(xs), np.concatenate(ys)


def save_artifacts(bundle, model_dir) -> str:
  os.makedirs(model_dir, exist_ok=True)
  for name, text in bundle.artifacts.items():
    with open(os.path.join(model_dir, name), "w", encoding="utf-8") as f:
      f.write(text)
  return str(model_dir)


# --- BBC ----------------------------------------------------------------------


def test_bbc_split_labels_and_vocabulary(tmp_path):
  bundle = pipelines.bbc_bundle(bbc_csv(tmp_path), BBC_HPARAMS)
  info = bundle.info
  assert (info.num_train, info.num_validation) == (8, 2)
  assert info.class_names == ["", "sport", "business", "tech",
                                   "politics"]
  assert info.num_classes == 5
  assert bundle.steps_per_epoch == 3
  word_index = info.tokenizer.word_index
  assert "the" not in word_index and "a" not in word_index  # stop words.
  assert "minister" not in word_index  # fitted on the training split only.
  assert word_index["<OOV>"] == 1
  _, val_labels = all_batches(bundle.validation)
  np.testing.assert_array_equal(val_labels, [2, 4])


def test_bbc_train_epoch_is_a_seeded_permutation(tmp_path):
  bundle = pipelines.bbc_bundle(bbc_csv(tmp_path), BBC_HPARAMS)
  x0, y0 = all_batches(bundle.train(0))
  x0_again, y0_again = all_batches(bundle.train(0))
  x1, y1 = all_batches(bundle.train(1))
  np.testing.assert_array_equal(x0, x0_again)
  np.testing.assert_array_equal(y0, y0_again)
  assert not np.array_equal(y0, y1) or not np.array_equal(x0, x1)
  assert sorted(y0.tolist()) == sorted(y1.tolist()) == [1, 1, 1, 1, 2, 2, 3,
                                                        3]
  assert sorted(map(tuple, x0.tolist())) == sorted(map(tuple, x1.tolist()))
  assert x0.shape == (8, 5) and x0.dtype == np.int32
  spec = bundle.element_spec
  assert spec[0].shape.as_list() == [None, 5] and spec[1].dtype == tf.int32


def test_bbc_artifacts_encode_like_training(tmp_path):
  bundle = pipelines.bbc_bundle(bbc_csv(tmp_path), BBC_HPARAMS)
  encoder = pipelines.load_inference_encoder(
      save_artifacts(bundle, tmp_path / "model"))
  texts = [remove_stopwords(t) for _, t in BBC_ROWS[8:]]
  val_x, _ = all_batches(bundle.validation)
  np.testing.assert_array_equal(encoder.encode(texts), val_x)
  assert encoder.max_length == 5
  assert encoder.class_names == bundle.info.class_names
  assert encoder.labels.encode(["tech"]).tolist() == [3]


def test_bbc_post_padding_and_truncating(tmp_path):
  hparams = dict(BBC_HPARAMS, max_length=2, training_portion=1.0)
  bundle = pipelines.bbc_bundle(bbc_csv(tmp_path), hparams)
  tokenizer = bundle.info.tokenizer
  word_index = tokenizer.word_index
  x, _ = all_batches(bundle.train(0))
  # "team won cup" cut "post" to its first two words.
  assert [word_index["team"], word_index["won"]] in x.tolist()
  assert bundle.validation is None


@pytest.mark.parametrize("key, value, message", [
    ("batch_size", 0, "batch_size must be an integer >= 1"),
    ("max_length", 0, r"maxlen \(max_length\) must be an integer >= 1"),
    ("trunc_type", "middle", "'pre' or 'post'"),
    ("training_portion", 1.5, r"training_portion must be in \(0, 1\]"),
    ("vocab_size", 1, r"num_words \(vocab_size\) must be an integer >= 2"),
    ("seed", -1, "seed must be an integer >= 0"),
], ids=["batch_size", "max_length", "trunc_type", "training_portion",
        "vocab_size", "seed"])
def test_bad_hparams_are_one_line_errors(tmp_path, key, value, message):
  with pytest.raises(DataError, match=message):
    pipelines.bbc_bundle(bbc_csv(tmp_path), dict(BBC_HPARAMS, **{key: value}))


# --- IMDB ---------------------------------------------------------------------


def make_imdb(root, with_test: bool) -> str:
  reviews = {"train/pos/0_9.txt": "good movie<br />good", "train/pos/1_8.txt":
             "great fun", "train/neg/0_1.txt": "bad movie",
             "train/neg/1_2.txt": "dull plot"}
  if with_test:
    reviews.update({"test/pos/0_9.txt": "good plot",
                    "test/neg/0_1.txt": "awful movie"})
  for name, text in reviews.items():
    path = os.path.join(root, "aclImdb", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
      f.write(text)
  return os.path.join(root, "aclImdb")


def test_imdb_uses_test_split_for_validation(tmp_path):
  bundle = pipelines.imdb_bundle(make_imdb(tmp_path, True),
                                 {"batch_size": 2, "max_length": 3})
  assert (bundle.info.num_train, bundle.info.num_validation) == (4,
                                                                           2)
  tokenizer = bundle.info.tokenizer
  # Train files are read neg then pos: "movie" (2 uses) comes before "good".
  assert (tokenizer.word_index["movie"], tokenizer.word_index["good"]) == (2,
                                                                           3)
  assert "awful" not in tokenizer.word_index  # fitted on train only.
  assert "br" not in tokenizer.word_index  # <br /> stripped.
  val_x, val_y = all_batches(bundle.validation)
  np.testing.assert_array_equal(val_y, [0.0, 1.0])
  assert val_y.dtype == np.float32
  plot = tokenizer.word_index["plot"]
  np.testing.assert_array_equal(val_x, [[0, 1, 2], [0, 3, plot]])


def test_imdb_without_test_split_holds_out_train(tmp_path):
  bundle = pipelines.imdb_bundle(make_imdb(tmp_path, False),
                                 {"batch_size": 2, "training_portion": 0.75})
  assert (bundle.info.num_train, bundle.info.num_validation) == (3,
                                                                           1)
  _, train_y = all_batches(bundle.train(0))
  _, val_y = all_batches(bundle.validation)
  assert sorted(train_y.tolist() + val_y.tolist()) == [0, 0, 1, 1]


# --- Sentiment140 + GloVe -----------------------------------------------------

TWEETS = ('"0","1","d","q","u","sad dog day"\n'
          '"4","2","d","q","u","happy dog"\n'
          '"2","3","d","q","u","meh"\n'
          '"4","4","d","q","u","caf\xe9 day zzz"\n'
          '"0","5","d","q","u","sad sad"\n')
GLOVE = "dog 1 2 3\nday 4 5 6\nsad -1 -2 -3\ncafé 7 8 9\nunused 0 0 1\n"


def test_sentiment140_glove_bundle(tmp_path):
  csv_path = tmp_path / "s140.csv"
  csv_path.write_bytes(TWEETS.encode("latin-1"))
  glove_path = write(tmp_path, "glove.txt", GLOVE)
  bundle = pipelines.sentiment140_glove_bundle(
      csv_path, glove_path, {"embedding_dim": 3, "max_length": 4,
                             "test_portion": 0.0, "batch_size": 2})
  info = bundle.info
  word_index = info.tokenizer.word_index
  assert sorted(word_index) == ["café", "day", "dog", "happy", "sad", "zzz"]
  matrix = info.embedding_matrix
  assert matrix.shape == (7, 3)
  np.testing.assert_array_equal(matrix[word_index["café"]], [7, 8, 9])
  np.testing.assert_array_equal(matrix[word_index["happy"]], [0, 0, 0])
  assert (info.glove_found, info.glove_words) == (4, 6)
  assert info.skipped == {"neutral": 1}
  assert bundle.validation is None
  _, y = all_batches(bundle.train(0))
  assert sorted(y.tolist()) == [0.0, 0.0, 1.0, 1.0]


def test_sentiment140_glove_dimension_must_match(tmp_path):
  csv_path = write(tmp_path, "s140.csv", TWEETS)
  glove_path = write(tmp_path, "glove.txt", GLOVE)
  with pytest.raises(DataError, match=r"glove\.txt:1: .* expected 100"):
    pipelines.sentiment140_glove_bundle(csv_path, glove_path, {})


# --- next word / next char ----------------------------------------------------


@pytest.mark.parametrize("one_hot", [False, True], ids=["sparse", "one_hot"])
def test_next_word_bundle(tmp_path, one_hot):
  path = write(tmp_path, "corpus.txt", "The cat sat\r\nA dog ran far\r\n")
  bundle = pipelines.next_word_bundle(path, {"batch_size": 4,
                                             "one_hot_labels": one_hot})
  info = bundle.info
  assert (info.total_words, info.max_sequence_len) == (8, 4)
  x, y = all_batches(bundle.train(0))
  rows = sorted(zip(map(tuple, x.tolist()),
                    (y.argmax(1) if one_hot else y).tolist()))
  assert rows == [((0, 0, 1), 2), ((0, 0, 4), 5), ((0, 1, 2), 3),
                  ((0, 4, 5), 6), ((4, 5, 6), 7)]
  assert y.shape == ((5, 8) if one_hot else (5,))
  assert bundle.validation is None and bundle.steps_per_epoch == 2


def test_char_corpus_bundle(tmp_path):
  path = write(tmp_path, "corpus.txt", "abcAbcab")
  bundle = pipelines.char_corpus_bundle(path, {"max_length": 3,
                                               "batch_size": 8})
  tokenizer = bundle.info.tokenizer
  assert tokenizer.word_index == {"b": 1, "a": 2, "c": 3, "A": 4}
  assert bundle.info.total_words == 5
  x, y = all_batches(bundle.train(0))
  decoded = sorted(zip(tokenizer.sequences_to_texts(x.tolist()),
                       tokenizer.sequences_to_texts([[i] for i in y])))
  assert decoded == [("Abc", "a"), ("abc", "A"), ("bcA", "b"), ("bca", "b"),
                     ("cAb", "c")]


# --- labels and stop words ----------------------------------------------------


def test_label_encoder_sorted_from_zero():
  encoder = LabelEncoder().fit(["tech", "sport", "tech", "business"])
  assert encoder.classes == ["business", "sport", "tech"]
  assert encoder.encode(["tech", "business"]).tolist() == [2, 0]
  assert encoder.num_classes == 3


def test_label_encoder_course_order_from_one():
  labels = ["tech", "sport", "sport", "business", "business", "tech", "sport"]
  encoder = LabelEncoder(order="frequency", start=1).fit(labels)
  assert encoder.classes == ["sport", "tech", "business"]
  assert encoder.encode(["sport", "tech", "business"]).tolist() == [1, 2, 3]
  assert encoder.num_classes == 4
  assert encoder.decode([3, 1]) == ["business", "sport"]


def test_label_encoder_unseen_label_is_named():
  encoder = LabelEncoder().fit(["a", "b"])
  with pytest.raises(DataError, match=r"unknown label 'c' \(example 1\); "
                     r"known classes: a, b"):
    encoder.encode(["a", "c"])


def test_label_encoder_json_round_trip(tmp_path):
  encoder = LabelEncoder(order="frequency", start=1).fit(["x", "y", "y"])
  encoder.save(tmp_path / "labels.json")
  loaded = LabelEncoder.load(tmp_path / "labels.json")
  assert (loaded.classes, loaded.start, loaded.order) == (["y", "x"], 1,
                                                          "frequency")
  with pytest.raises(DataError, match="not a saved LabelEncoder"):
    LabelEncoder.from_json("[1, 2]")


def test_course_stopwords():
  assert len(STOPWORDS) == len(set(STOPWORDS)) == 153
  assert remove_stopwords("The cat sat on the mat, and I'm HAPPY") == \
      "cat sat mat, happy"
