"""The registered NLP models: Keras parity, sizes from data, bad input."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from data.errors import DataError
from data.text.tokenizer import Tokenizer
from engine.errors import EngineUserError
from data.bundle import model_hparams
from models import registry
from models import text
from trainers.common import session

L = keras.layers


def _keras(input_shape, *layers):
  return keras.Sequential([keras.Input(input_shape, dtype="int32"), *layers])


def _keras_bbc():
  return _keras((120,), L.Embedding(1000, 16), L.GlobalAveragePooling1D(),
                L.Dense(24, activation="relu"),
                L.Dense(6, activation="softmax"))


def _keras_imdb(reduce):
  return _keras((120,), L.Embedding(10000, 16), reduce,
                L.Dense(6, activation="relu"),
                L.Dense(1, activation="sigmoid"))


def _keras_bilstm():
  return _keras((None,), L.Embedding(10000, 64),
                L.Bidirectional(L.LSTM(64)), L.Dense(64, activation="relu"),
                L.Dense(1, activation="sigmoid"))


def _keras_stacked_bilstm():
  return _keras((None,), L.Embedding(10000, 64),
                L.Bidirectional(L.LSTM(64, return_sequences=True)),
                L.Bidirectional(L.LSTM(32)), L.Dense(64, activation="relu"),
                L.Dense(1, activation="sigmoid"))


def _keras_gru():
  return _keras((120,), L.Embedding(10000, 16), L.Bidirectional(L.GRU(32)),
                L.Dense(6, activation="relu"),
                L.Dense(1, activation="sigmoid"))


def _keras_conv1d():
  return _keras((120,), L.Embedding(10000, 16),
                L.Conv1D(128, 5, activation="relu"),
                L.GlobalMaxPooling1D(), L.Dense(24, activation="relu"),
                L.Dense(1, activation="sigmoid"))


def _keras_subwords(*layers):
  """The course's subwords8k models: Embedding(8185, 64), any length."""
  return _keras((None,), L.Embedding(8185, 64), *layers,
                L.Dense(1, activation="sigmoid"))


def _keras_glove(words):
  return _keras((16,), L.Embedding(words + 1, 100, trainable=False),
                L.Dropout(0.2), L.Conv1D(64, 5, activation="relu"),
                L.MaxPooling1D(pool_size=4), L.LSTM(64),
                L.Dense(1, activation="sigmoid"))


def _keras_sonnets(total_words):
  return _keras((10,), L.Embedding(total_words, 100),
                L.Bidirectional(L.LSTM(150, return_sequences=True)),
                L.Dropout(0.2), L.LSTM(100),
                L.Dense(total_words // 2, activation="relu",
                        kernel_regularizer=keras.regularizers.l2(0.01)),
                L.Dense(total_words, activation="softmax"))


def _keras_char():
  return _keras((40,), L.Embedding(61, 32), L.LSTM(128),
                L.Dense(61, activation="softmax"))


# name -> (hparam overrides, Keras twin). vocab_size None builds the
# course's number (3,211 sonnet words, 61 characters); the GloVe vocabulary
# is shrunk from 138,858 words to keep the test light.
CASES = {
    "bbc_embedding": ({}, _keras_bbc),
    "imdb_embedding_flatten": ({}, lambda: _keras_imdb(L.Flatten())),
    "imdb_embedding_gap": ({}, lambda: _keras_imdb(
        L.GlobalAveragePooling1D())),
    "imdb_bilstm": ({}, _keras_bilstm),
    "imdb_stacked_bilstm": ({}, _keras_stacked_bilstm),
    "imdb_gru": ({}, _keras_gru),
    "imdb_conv1d": ({}, _keras_conv1d),
    "imdb_subwords_gap": ({}, lambda: _keras_subwords(
        L.GlobalAveragePooling1D(), L.Dense(6, activation="relu"))),
    "imdb_subwords_bilstm": ({}, lambda: _keras_subwords(
        L.Bidirectional(L.LSTM(64)), L.Dense(64, activation="relu"))),
    "imdb_subwords_stacked_bilstm": ({}, lambda: _keras_subwords(
        L.Bidirectional(L.LSTM(64, return_sequences=True)),
        L.Bidirectional(L.LSTM(32)), L.Dense(64, activation="relu"))),
    "imdb_subwords_conv1d": ({}, lambda: _keras_subwords(
        L.Conv1D(128, 5, activation="relu"), L.GlobalAveragePooling1D(),
        L.Dense(64, activation="relu"))),
    "sentiment_glove": ({"vocab_size": 500}, lambda: _keras_glove(500)),
    "sonnets_generator": ({}, lambda: _keras_sonnets(3211)),
    "char_generator": ({}, _keras_char),
}


def _counts(variables) -> int:
  return sum(int(np.prod(v.shape)) for v in variables)


def _keras_counts(model) -> tuple[int, int]:
  return (_counts(model.trainable_weights),
          _counts(model.non_trainable_weights))


def test_every_text_model_has_a_case():
  text_names = {n for n in registry.names()
                if registry.get(n).build_model.__module__.startswith(
                    "models.text")}
  assert text_names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_shape_and_param_counts_equal_keras(name):
  overrides, make_keras = CASES[name]
  recipe = registry.get(name)
  hparams = dict(recipe.hparams, **overrides)
  shape, dtype = recipe.input_shape(hparams)  # No data is read.
  model = recipe.build_model(hparams)
  reference = make_keras()
  x = np.ones([2] + [d or 9 for d in shape], np.int32)
  assert tuple(model(x).shape) == tuple(reference(x).shape)
  trainable = _counts(model.trainable_variables)
  frozen = _counts(model.variables) - trainable
  assert (trainable, frozen) == _keras_counts(reference)
  assert dtype == tf.int32


@pytest.mark.parametrize("name", ["imdb_bilstm", "imdb_stacked_bilstm"],
                         ids=["bilstm", "stacked_bilstm"])
def test_subword_style_models_take_any_length(name):
  recipe = registry.get(name)
  model = recipe.build_model(dict(recipe.hparams, vocab_size=50,
                                  embedding_dim=4))
  for length in (3, 11):
    assert model(np.ones([2, length], np.int32)).shape == (2, 1)


def test_fixed_length_models_reject_another_length():
  recipe = registry.get("imdb_embedding_gap")
  model = recipe.build_model(dict(recipe.hparams, max_length=8))
  with pytest.raises(ValueError, match="input_length 8"):
    model(np.ones([2, 5], np.int32))


def test_summary_binary_path_builds_the_course_sizes_without_data():
  recipe = registry.get("sonnets_generator")
  hparams = session.resolve_hparams(recipe, {"embedding_dim": "8"})
  features, _ = session.input_spec(recipe, hparams)
  model = recipe.build_model(hparams)
  table = model.summary(features.shape[1:], features.dtype, print_fn=None)
  assert "(None, 10, 8)" in table and "(None, 3211)" in table


def test_string_hparams_from_the_command_line_are_converted():
  recipe = registry.get("sonnets_generator")
  hparams = session.resolve_hparams(
      recipe, {"vocab_size": "30", "embedding_dim": "4", "bilstm_units": "3",
               "lstm_units": "2"})
  model = recipe.build_model(hparams)
  assert model(np.ones([1, 4], np.int32)).shape == (1, 30)
  with pytest.raises(EngineUserError, match="vocab_size.*'many'"):
    recipe.build_model(dict(hparams, vocab_size="many"))


# --- sizes from the data ------------------------------------------------------


def test_generator_takes_its_vocabulary_size_from_the_corpus(tmp_path):
  corpus = tmp_path / "corpus.txt"
  corpus.write_text("One two three\r\nthree two one four\r\n")
  recipe = registry.get("sonnets_generator")
  given = session.resolve_hparams(recipe, {"data_path": str(corpus)})
  data = recipe.make_data(given)
  assert given["vocab_size"] is None  # make_data changes no hparams.
  hparams = model_hparams(given, data.info)
  assert hparams["vocab_size"] == 5 == data.info.total_words
  x, y = next(iter(data.train(0)))
  assert x.shape[1] == 3 and y.dtype == tf.int32  # Sparse labels.
  model = recipe.build_model(dict(hparams, embedding_dim=4, bilstm_units=3,
                                  lstm_units=2))
  assert model(x).shape == (x.shape[0], 5)


def test_a_vocab_size_set_by_the_user_caps_the_generator(tmp_path):
  corpus = tmp_path / "corpus.txt"
  corpus.write_text("a b c d e f\nf e d c b a\n")
  recipe = registry.get("sonnets_generator")
  hparams = session.resolve_hparams(recipe, {"data_path": str(corpus),
                                             "vocab_size": 4})
  data = recipe.make_data(hparams)
  assert model_hparams(hparams, data.info)["vocab_size"] == 4
  assert data.info.total_words == 4
  labels = np.concatenate([y for _, y in data.train(0).as_numpy_iterator()])
  assert labels.max() < 4


def test_make_data_reads_read_only_hparams_and_changes_nothing(tmp_path):
  corpus = tmp_path / "corpus.txt"
  corpus.write_text("a b c\n")
  recipe = registry.get("sonnets_generator")
  with pytest.raises(TypeError):
    recipe.hparams["vocab_size"] = 3
  frozen = types.MappingProxyType(dict(recipe.hparams, data_path=str(corpus)))
  data = recipe.make_data(frozen)
  assert frozen["vocab_size"] is None and data.info.vocab_size == 4


def _write_sentiment140(path, rows):
  lines = [f'"{label}","1","Mon Apr 06","NO_QUERY","user","{text}"'
           for label, text in rows]
  path.write_text("\n".join(lines) + "\n")
  return str(path)


def test_glove_model_starts_from_the_glove_vectors_and_keeps_them(tmp_path):
  rows = [(4, "i love this happy day"), (0, "i hate this sad day")] * 6
  csv = _write_sentiment140(tmp_path / "tweets.csv", rows)
  vectors = {"love": [1.0, 2.0], "hate": [-1.0, -2.0], "day": [0.5, 0.5]}
  glove = tmp_path / "glove.txt"
  glove.write_text("".join(f"{w} {a} {b}\n" for w, (a, b) in vectors.items()))
  recipe = registry.get("sentiment_glove")
  hparams = session.resolve_hparams(recipe, {
      "data_path": csv, "glove_path": str(glove), "embedding_dim": 2,
      "max_length": 8, "batch_size": 4, "test_portion": "0.25"})
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  tokenizer = data.info.tokenizer
  words = len(tokenizer.word_index)  # 8: i, this, day, love, happy, hate...
  assert hparams["vocab_size"] == words
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 data_info=data.info, print_fn=None)
  trainer.fit(data.train, epochs=1, steps_per_epoch=data.steps_per_epoch)
  table = trainer.model.layers[0].embeddings.numpy()
  assert table.shape == (words + 1, 2)
  for word, vector in vectors.items():
    np.testing.assert_array_equal(table[tokenizer.word_index[word]], vector)
  np.testing.assert_array_equal(table[0], [0.0, 0.0])
  np.testing.assert_array_equal(table[tokenizer.word_index["happy"]],
                                [0.0, 0.0])


# --- generation ---------------------------------------------------------------


def test_choose_token_greedy_topk_and_seeded_sampling():
  p = np.array([0.5, 0.1, 0.3, 0.1])  # Id 0 (padding) is never chosen.
  assert text.choose_token(p) == 2
  rng = np.random.default_rng(0)
  assert {text.choose_token(p, 1.0, top_k=1, rng=rng)
          for _ in range(20)} == {2}
  draws = [text.choose_token(p, 1.0, rng=np.random.default_rng(7))
           for _ in range(2)]
  assert draws[0] == draws[1]
  many = [text.choose_token(p, 1.0, rng=rng) for _ in range(300)]
  assert 0 not in many and {1, 2, 3} == set(many)
  with pytest.raises(ValueError, match="temperature"):
    text.choose_token(p, -1.0)


def test_text_generator_pads_the_seed_and_appends_words():
  tokenizer = Tokenizer().fit_on_texts(["a b c d"])

  def next_of_last(ids, training=False):
    last = tf.cast(ids[:, -1], tf.int32)
    # The next word of "a b c d a ...", plus weight on ids 5 and 6, which
    # are past the vocabulary (a model sized larger than the corpus).
    return (tf.one_hot(last % 4 + 1, 7) +
            tf.constant([0, 0, 0, 0, 0, 2.0, 2.0]))

  generator = text.TextGenerator(next_of_last, tokenizer, 3)
  assert generator.generate("A b", 3) == "A b c d a"
  assert generator.generate("zzz a", 1) == "zzz a b"  # Unknown words drop.
  np.testing.assert_array_equal(generator.next_token_probabilities([2, 1]),
                                [0, 0, 1, 0, 0, 0, 0])

  def first_column_plus_one(ids, training=False):
    return tf.one_hot(tf.cast(ids[:, 0], tf.int32) + 1, 5)

  generator = text.TextGenerator(first_column_plus_one, tokenizer, 3)
  assert generator.generate("c", 1) == "c a"  # [0, 0, 3]: padded "pre".
  assert generator.generate("a b c d", 1) == "a b c d c"  # Cut "pre".


# --- bad input: one clear error each ------------------------------------------


def _bbc_csv(path, rows, header="category,text"):
  path.write_text(header + "\n" + "".join(f"{c},{t}\n" for c, t in rows))
  return str(path)


_BBC_ROWS = [("sport", "goal match team"), ("tech", "phone chip software")] * 5


@pytest.mark.parametrize("make_file, overrides, fragments", [
    (lambda p: _bbc_csv(p, _BBC_ROWS, header="category,body"), {},
     ("no 'text' column", "category,body")),
    (lambda p: _bbc_csv(p, _BBC_ROWS + [("politics", "vote"),
                                        ("politics", "law")]), {},
     ("'politics'", "never occur in the training split", "2 validation")),
    (lambda p: _bbc_csv(p, _BBC_ROWS), {"vocab_size": 1},
     ("num_words (vocab_size)", ">= 2", "got 1")),
    (lambda p: _bbc_csv(p, _BBC_ROWS), {"max_length": "0"},
     ("maxlen (max_length)", ">= 1", "got 0")),
    (lambda p: _bbc_csv(p, _BBC_ROWS), {"num_classes": 2},
     ("num_classes is 2", "num_classes=3")),
], ids=["text_column_missing", "label_unseen_in_training",
        "num_words_below_2", "maxlen_below_1", "too_few_outputs"])
def test_bbc_bad_input_is_named(tmp_path, make_file, overrides, fragments):
  path = make_file(tmp_path / "bbc.csv")
  recipe = registry.get("bbc_embedding")
  hparams = session.resolve_hparams(recipe, dict(overrides, data_path=path))
  with pytest.raises(DataError) as error:
    recipe.make_data(hparams)
  for fragment in fragments:
    assert fragment in str(error.value)


@pytest.mark.parametrize("name", ["sonnets_generator", "char_generator"],
                         ids=["words", "characters"])
def test_empty_corpus_is_named(tmp_path, name):
  corpus = tmp_path / "empty.txt"
  corpus.write_text("\n\n")
  recipe = registry.get(name)
  hparams = session.resolve_hparams(recipe, {"data_path": str(corpus)})
  with pytest.raises(DataError, match="empty"):
    recipe.make_data(hparams)


def test_missing_data_path_is_named():
  recipe = registry.get("imdb_conv1d")
  hparams = session.resolve_hparams(recipe, {"data_path": "/no/aclImdb"})
  with pytest.raises(DataError, match="/no/aclImdb does not exist"):
    recipe.make_data(hparams)


def test_seed_text_of_unknown_words_is_named():
  tokenizer = Tokenizer().fit_on_texts(["shall i compare thee"])
  generator = text.TextGenerator(lambda x, training: x, tokenizer, 3)
  with pytest.raises(DataError, match="'zebra quagga' has no word"):
    generator.generate("zebra quagga", 3)
