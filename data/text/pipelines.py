"""`DataBundle` builders for the course's NLP models.

Each builder reads a data set, fits the vocabulary on the training split,
encodes and pads every text once, and returns a `DataBundle`:

* `train(epoch)` batches a permutation drawn from (seed, epoch);
* `validation` is batched in file order (None when the course has none);
* `artifacts` holds "tokenizer.json", "labels.json" (classification with
  string labels) and "text_config.json" for model_dir, so that
  `load_inference_encoder(model_dir)` encodes new text exactly as training did;
* `info` (a `TextInfo`) holds the fitted objects and sizes.

Sizes come from hparams named like the course's variables: `vocab_size`,
`embedding_dim`, `max_length`, `trunc_type`, `padding_type`, `oov_tok`,
`training_portion` / `training_size` / `test_portion`, plus `batch_size` and
`seed`. Missing keys take the course's values (see each builder).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data.bundle import DataBundle, EpochData, epoch_order_tensor
from data.errors import DataError
from data.text import glove, ngrams, readers
from data.text.labels import LabelEncoder
from data.text.padding import check_padding_args, pad_sequences
from data.text.stopwords import remove_stopwords
from data.text.info import TextInfo
from data.text.tokenizer import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
CONFIG_FILE = "text_config.json"

BBC_DEFAULTS = {"vocab_size": 1000, "max_length": 120, "trunc_type": "post",
                "padding_type": "post", "oov_tok": "<OOV>",
                "training_portion": 0.8, "remove_stopwords": True}
IMDB_DEFAULTS = {"vocab_size": 10000, "max_length": 120, "trunc_type": "post",
                 "padding_type": "pre", "oov_tok": "<OOV>",
                 "training_portion": 0.8, "strip_html": True}
SENTIMENT140_DEFAULTS = {"vocab_size": None, "embedding_dim": 100,
                         "max_length": 16, "trunc_type": "post",
                         "padding_type": "post", "oov_tok": None,
                         "training_size": None, "test_portion": 0.1}
NEXT_WORD_DEFAULTS = {"vocab_size": None, "oov_tok": None,
                      "max_sequence_len": None, "one_hot_labels": False}
CHAR_DEFAULTS = {"max_length": 100, "window_shift": 1, "lower": False}
COMMON_DEFAULTS = {"batch_size": 32, "seed": 0}
_EPOCH_STREAM, _SPLIT_STREAM = 0, 1


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
  """The generator of one epoch's shuffle: depends only on (seed, epoch).

  Raises:
    DataError: a negative seed or epoch.
  """
  return np.random.default_rng([_seed(seed), _EPOCH_STREAM,
                                _non_negative(epoch, "epoch")])


def split_rng(seed: int) -> np.random.Generator:
  """The generator of the shuffle before a train/validation split."""
  return np.random.default_rng([_seed(seed), _SPLIT_STREAM])


def bbc_bundle(path: str | os.PathLike, hparams: Mapping[str, Any]
               ) -> DataBundle:
  """BBC news classification, as the course prepares it.

  Stop words are removed (`remove_stopwords`), the first `training_portion`
  (0.8) of the rows train and the rest validate (no shuffle before the split,
  as in the course), the tokenizer (vocab_size 1000, "<OOV>") is fitted on the
  training texts, and texts are padded/cut to max_length 120 "post". Labels
  are ranked by frequency from 1 like the course's label tokenizer (sport=1,
  ..., 5 classes -> `info.num_classes` = 6 outputs).

  Args:
    path: bbc-text.csv.
    hparams: see `BBC_DEFAULTS` and `COMMON_DEFAULTS`.

  Returns:
    int32 features (batch, max_length) and int32 labels (batch,).
  """
  h = _merged(hparams, BBC_DEFAULTS)
  data, texts, n_train = bbc_texts(path, h)
  labels = LabelEncoder(order="frequency", start=1).fit(data.labels)
  tokenizer = _fit_tokenizer(texts[:n_train], h)
  features = encode_texts(tokenizer, texts, h["max_length"],
                          h["padding_type"], h["trunc_type"])
  targets = labels.encode(data.labels)
  return _classification_bundle(features, targets, n_train, tokenizer, h,
                                labels=labels, skipped=data.skipped)


def bbc_texts(path: str | os.PathLike, hparams: Mapping[str, Any]
              ) -> tuple[readers.LabeledTexts, list[str], int]:
  """(the CSV's rows, their cleaned texts, n_train) of bbc-text.csv: stop
  words removed when `remove_stopwords`, the first `training_portion` train.

  Raises:
    DataError: a bad CSV or training_portion.
  """
  h = _merged(hparams, BBC_DEFAULTS)
  data = readers.read_bbc_csv(path)
  texts = data.texts
  if h["remove_stopwords"]:
    texts = [remove_stopwords(t) for t in texts]
  return data, texts, _split_size(len(texts), h["training_portion"],
                                  "training_portion")


def imdb_bundle(path: str | os.PathLike, hparams: Mapping[str, Any],
                extract_dir: str | os.PathLike | None = None) -> DataBundle:
  """IMDB review sentiment, as the course prepares it.

  Training uses the train split; validation uses the test split when the
  data has one, else the last (1 - training_portion) of the train split
  after a seeded shuffle (files are ordered neg then pos). The tokenizer
  (vocab_size 10000, "<OOV>") is fitted on the training texts; texts are
  padded "pre" and cut "post" to max_length 120. `<br />` tags become spaces.

  Args:
    path: the aclImdb folder or its .tar.gz/.tar.xz archive.
    hparams: see `IMDB_DEFAULTS` and `COMMON_DEFAULTS`.
    extract_dir: where to extract an archive (None: a temporary folder).

  Returns:
    int32 features (batch, max_length) and float32 0/1 labels (batch,).
  """
  h = _merged(hparams, IMDB_DEFAULTS)
  texts, labels, n_train = imdb_texts(path, h, extract_dir)
  tokenizer = _fit_tokenizer(texts[:n_train], h)
  features = encode_texts(tokenizer, texts, h["max_length"],
                          h["padding_type"], h["trunc_type"])
  return _classification_bundle(
      features, np.asarray(labels, np.float32), n_train, tokenizer, h,
      class_names=["neg", "pos"])


def imdb_texts(path: str | os.PathLike, h: Mapping[str, Any],
               extract_dir: str | os.PathLike | None = None
               ) -> tuple[list[str], list[int], int]:
  """(texts, 0/1 labels, n_train) of aclImdb: the train split first, then
  the test split, or the seeded-shuffled train split cut at
  training_portion when there is no test split.

  Args:
    path: the aclImdb folder or archive.
    h: strip_html, seed, training_portion.
    extract_dir: where to extract an archive (None: a temporary folder).

  Raises:
    DataError: no train split, or a bad training_portion.
  """
  splits = readers.read_imdb(path, strip_html=h["strip_html"],
                             extract_dir=extract_dir)
  if "train" not in splits:
    raise DataError(f"{os.fspath(path)}: no aclImdb/train split; it is "
                    f"needed to fit the vocabulary.")
  train = splits["train"]
  texts, labels = list(train.texts), list(train.labels)
  if "test" in splits:
    n_train = len(texts)
    texts += splits["test"].texts
    labels += splits["test"].labels
  else:
    order = split_rng(h["seed"]).permutation(len(texts))
    texts = [texts[i] for i in order]
    labels = [labels[i] for i in order]
    n_train = _split_size(len(texts), h["training_portion"],
                          "training_portion")
  return texts, labels, n_train


def imdb_defaults(hparams: Mapping[str, Any]) -> dict[str, Any]:
  """hparams over `IMDB_DEFAULTS` and `COMMON_DEFAULTS` (what
  `imdb_texts` reads: strip_html, seed, training_portion)."""
  return _merged(hparams, IMDB_DEFAULTS)


def imdb_validation_texts(path: str | os.PathLike, h: Mapping[str, Any]
                          ) -> tuple[list[str], list[int]]:
  """(texts, 0/1 labels) of the validation split `imdb_texts` selects,
  reading only the test split when the folder has one.

  Raises:
    DataError: as `imdb_texts`.
  """
  test_folder = readers.imdb_split_folder(path, "test")
  if test_folder is not None:
    test = readers.read_imdb_split(test_folder, h["strip_html"])
    return list(test.texts), list(test.labels)
  texts, labels, n_train = imdb_texts(path, h)
  return texts[n_train:], labels[n_train:]


def sentiment140_glove_bundle(path: str | os.PathLike,
                              glove_path: str | os.PathLike,
                              hparams: Mapping[str, Any]) -> DataBundle:
  """Sentiment140 tweets with a frozen GloVe embedding, as in the course.

  Tweets are shuffled with the seed, the first `training_size` kept (None:
  all), and the last `test_portion` (0.1) of them validate. The tokenizer
  (all words, no OOV token, as the course) is fitted on the training tweets;
  tweets are padded/cut "post" to max_length 16. Neutral tweets are dropped
  (`info.skipped`). `info.embedding_matrix` is the
  (vocab_size + 1, embedding_dim) GloVe matrix, words absent from GloVe zero.

  Args:
    path: the Sentiment140 CSV (header optional, latin-1 or UTF-8).
    glove_path: a GloVe text file whose vectors have embedding_dim values.
    hparams: see `SENTIMENT140_DEFAULTS` and `COMMON_DEFAULTS`.

  Returns:
    int32 features (batch, max_length) and float32 0/1 labels (batch,).
  """
  h = _merged(hparams, SENTIMENT140_DEFAULTS)
  data, texts, labels, n_train = sentiment140_texts(path, h)
  tokenizer = _fit_tokenizer(texts[:n_train], h)
  vectors = glove.read_glove(glove_path, words=tokenizer.word_index,
                             dim=_positive_int(h["embedding_dim"],
                                               "embedding_dim"))
  matrix = glove.embedding_matrix(tokenizer.word_index, vectors,
                                  vocab_size=tokenizer.vocab_size - 1,
                                  dim=h["embedding_dim"])
  features = encode_texts(tokenizer, texts, h["max_length"],
                          h["padding_type"], h["trunc_type"])
  bundle = _classification_bundle(features, labels, n_train, tokenizer, h,
                                  class_names=["negative", "positive"],
                                  skipped=data.skipped)
  bundle.info.embedding_matrix = matrix.matrix
  bundle.info.glove_found = matrix.num_found
  bundle.info.glove_words = matrix.num_words
  return bundle


def sentiment140_texts(path: str | os.PathLike, hparams: Mapping[str, Any]
                       ) -> tuple[readers.LabeledTexts, list[str],
                                  np.ndarray, int]:
  """(the CSV's rows, tweets, float32 labels, n_train) of Sentiment140:
  shuffled with the seed, cut to `training_size`, the last `test_portion`
  validating.

  Raises:
    DataError: a bad CSV, training_size or test_portion.
  """
  h = _merged(hparams, SENTIMENT140_DEFAULTS)
  data = readers.read_sentiment140(path)
  order = split_rng(h["seed"]).permutation(len(data.texts))
  if h["training_size"] is not None:
    order = order[:_positive_int(h["training_size"], "training_size")]
  texts = [data.texts[i] for i in order]
  labels = np.asarray([data.labels[i] for i in order], np.float32)
  test_portion = h["test_portion"]
  if not 0 <= test_portion < 1:
    raise DataError(f"hparam test_portion must be in [0, 1), got "
                    f"{test_portion!r}.")
  return data, texts, labels, len(texts) - int(len(texts) * test_portion)


def next_word_bundle(path: str | os.PathLike, hparams: Mapping[str, Any]
                     ) -> DataBundle:
  """Next-word prediction on a plain corpus (the sonnets), as the course.

  The corpus is lowercased and split on newlines; the tokenizer (all words,
  no OOV token) is fitted on all lines; every line gives its n-gram prefixes,
  pre-padded to the longest; the last token is the label. Labels are sparse
  ids by default, one-hot (width `total_words`) with `one_hot_labels`. There
  is no validation split, as in the course.

  Args:
    path: a UTF-8 text file.
    hparams: see `NEXT_WORD_DEFAULTS` and `COMMON_DEFAULTS`.

  Returns:
    int32 features (batch, max_sequence_len - 1) and int32 labels (batch,)
    or float32 (batch, total_words).
  """
  h = _merged(hparams, NEXT_WORD_DEFAULTS)
  lines = readers.read_corpus_lines(path)
  tokenizer = _fit_tokenizer(lines, h)
  total_words = tokenizer.vocab_size
  data = ngrams.next_word_data(
      tokenizer.texts_to_sequences(lines), h["max_sequence_len"],
      one_hot_classes=total_words if h["one_hot_labels"] else None)
  info = TextInfo(max_sequence_len=data.max_sequence_len,
                  max_length=data.max_sequence_len - 1)
  return _bundle(data.features, data.labels, len(data.labels), tokenizer, h,
                 info)


def char_corpus_bundle(path: str | os.PathLike, hparams: Mapping[str, Any]
                       ) -> DataBundle:
  """Next-character prediction on a plain corpus.

  A character-level tokenizer (case kept unless `lower`) is fitted on the
  whole text; windows of `max_length` characters, `window_shift` apart, are
  labelled by the character that follows. No validation split.

  Args:
    path: a UTF-8 text file.
    hparams: see `CHAR_DEFAULTS` and `COMMON_DEFAULTS`.

  Returns:
    int32 features (batch, max_length) and int32 labels (batch,).
  """
  h = _merged(hparams, CHAR_DEFAULTS)
  text = readers.read_text(path)
  tokenizer = Tokenizer(char_level=True, lower=bool(h["lower"]))
  tokenizer.fit_on_texts([text])
  ids = tokenizer.texts_to_sequences([text])[0]
  data = ngrams.sliding_windows(ids, _positive_int(h["max_length"],
                                                   "max_length"),
                                _positive_int(h["window_shift"],
                                              "window_shift"))
  info = TextInfo(max_length=h["max_length"])
  return _bundle(data.features, data.labels, len(data.labels), tokenizer, h,
                 info)


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str], max_length: int,
                 padding_type: str = "post", trunc_type: str = "post"
                 ) -> np.ndarray:
  """Encodes and pads texts: int32 (len(texts), max_length).

  Raises:
    DataError: bad padding arguments.
  """
  check_padding_args(max_length, padding_type, trunc_type)
  return pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=max_length,
                       padding=padding_type, truncating=trunc_type)


class InferenceEncoder:
  """Encodes new text exactly as a bundle's training data was encoded.

  Example:
    encoder = load_inference_encoder(model_dir)
    x = encoder.encode(["a new review"])         # int32 (1, max_length)
    encoder.class_names[int(np.argmax(probs))]
  """

  def __init__(self, tokenizer: Tokenizer, config: Mapping[str, Any],
               labels: LabelEncoder | None = None):
    """Wraps a tokenizer, the saved text config and the label encoder."""
    self.tokenizer = tokenizer
    self.config = dict(config)
    self.labels = labels

  @property
  def max_length(self) -> int:
    """The model's input length."""
    return int(self.config["max_length"])

  @property
  def class_names(self) -> list[str]:
    """Name per output id ([] for non-classification models)."""
    return list(self.config.get("class_names", []))

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """int32 (len(texts), max_length), padded and cut as in training."""
    return encode_texts(self.tokenizer, texts, self.max_length,
                        self.config["padding_type"], self.config["trunc_type"])

  def batches(self, texts: Sequence[str], labels: np.ndarray,
              batch_size: int) -> tf.data.Dataset:
    """Batched (int32 ids, labels) in order, as training batched its
    validation split."""
    return tf.data.Dataset.from_tensor_slices(
        (self.encode(texts), np.asarray(labels))).batch(batch_size)


def load_inference_encoder(model_dir: str | os.PathLike) -> InferenceEncoder:
  """Reads the text artifacts a bundle stored in model_dir.

  Raises:
    FileNotFoundError: model_dir lacks text_config.json or the tokenizer
      (tokenizer.json, or subword_vocab.txt for a subword run).
    DataError: a file is not what a bundle wrote.
  """
  model_dir = os.fspath(model_dir)
  config_path = os.path.join(model_dir, CONFIG_FILE)
  with open(config_path, encoding="utf-8") as f:
    try:
      config = json.load(f)
    except ValueError as e:
      raise DataError(f"{config_path}: not JSON ({e}).") from None
  labels_path = os.path.join(model_dir, LABELS_FILE)
  labels = (LabelEncoder.load(labels_path) if os.path.exists(labels_path)
            else None)
  if config.get("tokenizer") == "subword":
    from data.text import subword_pipeline  # Loads tensorflow-text's ops.
    return subword_pipeline.load_encoder(model_dir, config, labels)
  tokenizer = Tokenizer.load(os.path.join(model_dir, TOKENIZER_FILE))
  return InferenceEncoder(tokenizer, config, labels)


# --- shared helpers -----------------------------------------------------------


def _classification_bundle(features: np.ndarray, targets: np.ndarray,
                           n_train: int, tokenizer: Tokenizer,
                           h: Mapping[str, Any],
                           labels: LabelEncoder | None = None,
                           class_names: list[str] | None = None,
                           skipped: Mapping[str, int] | None = None
                           ) -> DataBundle:
  if labels is not None:
    class_names = labels.class_names
  info = TextInfo(class_names=list(class_names), max_length=h["max_length"],
                  padding_type=h["padding_type"], trunc_type=h["trunc_type"],
                  num_classes=len(class_names),
                  num_validation=len(targets) - n_train,
                  skipped=dict(skipped or {}), label_encoder=labels)
  bundle = _bundle(features[:n_train], targets[:n_train], n_train, tokenizer,
                   h, info, validation=(features[n_train:],
                                        targets[n_train:]))
  if labels is not None:
    bundle.artifacts[LABELS_FILE] = labels.to_json()
  return bundle


def _bundle(features: np.ndarray, targets: np.ndarray, n_train: int,
            tokenizer: Tokenizer, h: Mapping[str, Any], info: TextInfo,
            validation: tuple[np.ndarray, np.ndarray] | None = None
            ) -> DataBundle:
  """Batches the first n_train rows of (features, targets) for training."""
  batch_size = _positive_int(h["batch_size"], "batch_size")
  seed = _seed(h["seed"])
  if n_train == 0:
    raise DataError("the training split is empty; raise training_portion or "
                    "provide more data.")

  with tf.init_scope(), tf.device("/CPU:0"):
    train_features = tf.convert_to_tensor(features[:n_train])
    train_targets = tf.convert_to_tensor(targets[:n_train])

  def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
    order = epoch_order_tensor(
        lambda e: epoch_rng(seed, e).permutation(n_train), epoch, n_train)
    return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).map(
        lambda rows: (tf.gather(train_features, rows),
                      tf.gather(train_targets, rows)))

  train = EpochData(one_epoch)

  validation_ds = None
  if validation is not None and len(validation[1]):
    validation_ds = tf.data.Dataset.from_tensor_slices(validation).batch(
        batch_size)
  info.tokenizer, info.total_words = tokenizer, tokenizer.vocab_size
  info.num_train = n_train
  return DataBundle(
      train=train, validation=validation_ds,
      steps_per_epoch=math.ceil(n_train / batch_size), info=info,
      artifacts={TOKENIZER_FILE: tokenizer.to_json(),
                 CONFIG_FILE: json.dumps(info.encoder_config())})


def _fit_tokenizer(texts: Sequence[str], h: Mapping[str, Any]) -> Tokenizer:
  return Tokenizer(num_words=h["vocab_size"],
                   oov_token=h["oov_tok"]).fit_on_texts(texts)


def _merged(hparams: Mapping[str, Any], defaults: Mapping[str, Any]
            ) -> dict[str, Any]:
  merged = dict(COMMON_DEFAULTS)
  merged.update(defaults)
  merged.update({k: v for k, v in hparams.items() if k in merged})
  if "max_length" in merged and merged["max_length"] is not None:
    check_padding_args(merged["max_length"], merged.get("padding_type", "pre"),
                       merged.get("trunc_type", "pre"))
  return merged


def _split_size(n: int, portion: float, name: str) -> int:
  if not 0 < portion <= 1:
    raise DataError(f"hparam {name} must be in (0, 1], got {portion!r}.")
  return int(n * portion)


def _positive_int(value: Any, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
      or value < 1:
    raise DataError(f"hparam {name} must be an integer >= 1, got {value!r}.")
  return int(value)


def _seed(value: Any) -> int:
  return _non_negative(value, "seed")


def _non_negative(value: Any, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
      or value < 0:
    raise DataError(f"{name} must be an integer >= 0, got {value!r}.")
  return int(value)
