"""SubwordTokenizer on tiny corpora: learning, round trips, OOV, unicode,
empty strings, reproducibility, files, and its tf.data pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text import pipelines, subword, subword_pipeline
from data.text.subword import SubwordTokenizer

CORPUS = [
    "The movie was great, a really great movie!",
    "The acting was terrible; the plot was worse.",
    "Great actors, great   story.\tWatch it\nnow.",
    "Naïve café owners love the movie's ending",
    "I watched it twice: once for the story, once for the actors.",
    "worst movie ever... really the worst",
] * 4
ROUND_TRIPS = [
    "The movie was GREAT, a really great movie!",
    "the  acting\twas\n\nterrible ;the plot was worse .",
    "  Naïve café  ",
    "watch it ... twice: once, for the story ;really!",
    "movies! movie's ending.",
]


@pytest.fixture(scope="module")
def tokenizer():
  return SubwordTokenizer.learn(CORPUS, vocab_size=90)


def normalized(text: str) -> str:
  return " ".join(text.lower().split())


def test_vocabulary_has_the_reserved_ids_characters_and_learned_pieces(
    tokenizer):
  vocab = tokenizer.vocabulary
  assert vocab[:3] == ["<pad>", "[UNK]", "\u2581[UNK]"]
  assert tokenizer.vocab_size == len(vocab) == 90
  for char in "tgé,!":
    assert char in vocab and "##" + char in vocab
  # Frequent words become single pieces, marked when they follow a space.
  assert "\u2581movie" in vocab and "\u2581great" in vocab
  assert len(tokenizer.encode("great movie")) == 2


def test_vocab_size_is_exact_when_the_corpus_gives_enough_pieces():
  for size in (65, 70, 80, 90):  # 90: every piece at threshold 1.
    assert SubwordTokenizer.learn(CORPUS, size).vocab_size == size


def test_a_small_corpus_gives_fewer_pieces_and_says_so():
  small = SubwordTokenizer.learn(["ab ab", "ba"], vocab_size=1000)
  assert small.vocab_size < 1000
  assert small.vocab_size == len(small.vocabulary)


def test_too_small_a_vocab_size_names_the_minimum():
  with pytest.raises(DataError, match=r"vocab_size 10 is too small.*need \d+"):
    SubwordTokenizer.learn(CORPUS, vocab_size=10)
  with pytest.raises(DataError, match="integer >= 3"):
    SubwordTokenizer.learn(CORPUS, vocab_size=2)


def test_an_empty_corpus_is_refused():
  with pytest.raises(DataError, match="no words"):
    SubwordTokenizer.learn(["", "   "], vocab_size=50)
  with pytest.raises(TypeError, match="single str"):
    SubwordTokenizer.learn("one text", vocab_size=50)


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_decode_inverts_encode_up_to_case_and_white_space(tokenizer, text):
  ids = tokenizer.encode(text)
  assert all(3 <= i < tokenizer.vocab_size for i in ids)
  assert tokenizer.decode(ids) == normalized(text)


def test_unknown_characters_become_one_unknown_piece_per_word(tokenizer):
  ids = tokenizer.encode("great 日本 movie ☃a")
  assert ids.count(2) == 2  # "▁日本" and "▁☃": after a space.
  assert tokenizer.decode(ids) == "great [UNK] movie [UNK]a"
  assert tokenizer.encode("日本")[0] == tokenizer.oov_index == 1
  assert tokenizer.decode(tokenizer.encode("日本 great")) == "[UNK] great"


def test_unicode_seen_in_training_round_trips(tokenizer):
  assert tokenizer.decode(tokenizer.encode("CAFÉ naïve")) == "café naïve"


def test_empty_and_blank_texts_give_no_ids(tokenizer):
  assert tokenizer.encode("") == [] and tokenizer.encode(" \t\n") == []
  assert tokenizer.decode([]) == ""
  assert tokenizer.texts_to_sequences(["", "great"])[0] == []
  assert tokenizer.texts_to_sequences([]) == []
  assert tokenizer.sequences_to_texts([[0, 0], []]) == ["", ""]


def test_padding_is_dropped_and_out_of_range_ids_decode_as_unknown(tokenizer):
  ids = tokenizer.encode("great movie")
  assert tokenizer.decode([0] + ids + [0, 0]) == "great movie"
  assert tokenizer.decode([tokenizer.vocab_size + 5]) == "[UNK]"


def test_learning_is_reproducible_and_the_file_restores_it(tokenizer,
                                                            tmp_path):
  again = SubwordTokenizer.learn(list(CORPUS), vocab_size=90)
  assert again.vocabulary == tokenizer.vocabulary
  path = tmp_path / "vocab.txt"
  tokenizer.save(path)
  lines = path.read_text(encoding="utf-8").split("\n")
  assert lines[:-1] == tokenizer.vocabulary and lines[-1] == ""
  restored = SubwordTokenizer.load(path)
  assert (restored.texts_to_sequences(ROUND_TRIPS)
          == tokenizer.texts_to_sequences(ROUND_TRIPS))


def test_a_file_that_is_not_a_vocabulary_is_named(tmp_path):
  path = tmp_path / "vocab.txt"
  path.write_text("a\nb\n")
  with pytest.raises(DataError, match="vocab.txt: a subword vocabulary"):
    SubwordTokenizer.load(path)


def test_graph_encoding_matches_eager_inside_tf_data_and_tf_function(
    tokenizer):
  dataset = tf.data.Dataset.from_tensor_slices(ROUND_TRIPS).batch(2).map(
      lambda t: tokenizer(t).to_tensor())
  rows = [row[row != 0].tolist() for batch in dataset for row in batch.numpy()]
  assert rows == tokenizer.texts_to_sequences(ROUND_TRIPS)
  decode = tf.function(tokenizer.detokenize)
  texts = decode(tokenizer(tf.constant(ROUND_TRIPS)).to_tensor()).numpy()
  assert [t.decode() for t in texts] == [normalized(t) for t in ROUND_TRIPS]


def test_tokenizing_in_parallel_blocks_keeps_the_order(tokenizer,
                                                        monkeypatch):
  monkeypatch.setattr(subword_pipeline, "TOKENIZE_BLOCK", 3)
  texts = ROUND_TRIPS + [""] + CORPUS
  ids = subword_pipeline.tokenize_all(tokenizer, texts)
  assert ids.to_list() == tokenizer.texts_to_sequences(texts)
  assert subword_pipeline.tokenize_all(tokenizer, []).shape[0] == 0


def test_word_splitting_marks_words_after_spaces():
  words = subword.split_words(tf.constant(["Hi, you  there!", ""]))
  assert words.to_list() == [[b"hi", b",", "\u2581you".encode(),
                              "\u2581there".encode(), b"!"], []]


# --- the tf.data pipeline -----------------------------------------------------


def bundle(max_length=None, batch_size=4, n_train=20):
  texts = [f"{'great' if i % 2 else 'bad'} movie " + "really " * (i % 7)
           for i in range(24)]
  labels = np.arange(24) % 2
  h = {"vocab_size": 60, "max_length": max_length, "padding_type": "post",
       "trunc_type": "post", "batch_size": batch_size, "seed": 3}
  return subword_pipeline.classification_bundle(texts, labels, n_train, h,
                                                ["neg", "pos"])


def test_batches_are_padded_to_their_longest_text_after_it():
  data = bundle()
  lengths, seen = set(), 0
  for ids, labels in data.train(0):
    ids = ids.numpy()
    assert ids.dtype == np.int32 and len(ids) == len(labels)
    lengths.add(ids.shape[1])
    assert ids.shape[1] >= subword_pipeline.MIN_LENGTH
    real = (ids != 0).sum(axis=1)
    assert real.max() == ids.shape[1] or ids.shape[1] == 5
    for row, n in zip(ids, real):
      assert (row[:n] != 0).all() and (row[n:] == 0).all()
    seen += len(labels)
  assert seen == 20 and len(lengths) > 1
  assert sum(len(y) for _, y in data.validation) == 4
  assert data.steps_per_epoch == 5


def test_the_epoch_order_depends_on_seed_and_epoch_only():
  first = [x.numpy().tolist() for x, _ in bundle().train(1)]
  assert first == [x.numpy().tolist() for x, _ in bundle().train(1)]
  assert first != [x.numpy().tolist() for x, _ in bundle().train(2)]


def test_a_max_length_cuts_and_pads_every_batch_to_it():
  for ids, _ in bundle(max_length=3).train(0):
    assert ids.shape[1] == 3


def test_model_dir_artifacts_restore_the_encoder(tmp_path):
  data = bundle()
  for name, text in data.artifacts.items():
    (tmp_path / name).write_text(text, encoding="utf-8")
  config = json.loads(data.artifacts[pipelines.CONFIG_FILE])
  assert config["tokenizer"] == "subword" and config["max_length"] is None
  encoder = pipelines.load_inference_encoder(tmp_path)
  assert encoder.max_length is None and encoder.class_names == ["neg", "pos"]
  tokenizer = data.info.tokenizer
  texts = ["great movie really", "bad"]
  ids = encoder.encode(texts)
  assert ids.shape == (2, 5)
  assert [r[r != 0].tolist() for r in ids] == tokenizer.texts_to_sequences(
      texts)
