"""`DataBundle`s of subword-encoded text, tokenized inside tf.data.

The subword twin of `pipelines` for text classifiers (`--tokenizer=subword`):
the `SubwordTokenizer` is learned on the training texts, and the raw strings
are tokenized by TF ops (no Python per example), once per run for a
bundle's splits and once per call for inference (`tokenize_all`); then
`id_batches` pads each batch to its longest review (at least
`MIN_LENGTH`), "post", as the course's `padded_batch` does. A `max_length`
(hparam) instead pads and cuts every batch to that length with
`padding_type` / `trunc_type`, as the word pipeline does.

`artifacts` hold "subword_vocab.txt" (one piece per line), "text_config.json"
(with `"tokenizer": "subword"`) and "labels.json" when labels are strings,
so `pipelines.load_inference_encoder(model_dir)` restores the tokenizer from
model_dir alone.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from data.bundle import DataBundle
from data.errors import DataError
from data.text import pipelines
from data.text.info import TextInfo
from data.text.labels import LabelEncoder
from data.text.padding import check_padding_args, pad_ragged
from data.text.subword import SubwordTokenizer

VOCAB_FILE = "subword_vocab.txt"
TOKENIZER_NAME = "subword"
DEFAULT_VOCAB_SIZE = 8185  # The course's imdb_reviews/subwords8k.
SETTINGS_KEY = "vocabulary_settings"  # In text_config.json.
MIN_LENGTH = 5  # Padded steps per batch at least: the Conv1D kernel size.
TOKENIZE_BLOCK = 1024  # Texts per tokenizer call in `tokenize_all`.


@dataclasses.dataclass
class SubwordInfo(TextInfo):
  """`TextInfo` of a subword bundle (`tokenizer` is a `SubwordTokenizer`;
  `max_length` None: any length).

  Attributes:
    sample_text: a training text, shown split into pieces in TensorBoard.
  """

  sample_text: str = ""
  vocabulary_settings: dict = dataclasses.field(default_factory=dict)
  data_sets_vocab_size = True  # The learned size, whatever was asked.

  def encoder_config(self) -> dict:
    """text_config.json, naming the tokenizer kind and vocabulary file."""
    config = dict(super().encoder_config(), tokenizer=TOKENIZER_NAME,
                  vocab_file=VOCAB_FILE, max_length=self.max_length)
    if self.vocabulary_settings:
      config[SETTINGS_KEY] = dict(self.vocabulary_settings)
    return config


def encode_batch(tokenizer: SubwordTokenizer, texts: tf.Tensor,
                 max_length: int | None, padding_type: str = "post",
                 trunc_type: str = "post") -> tf.Tensor:
  """int32 [N, length] ids of a [N] string batch, padded with 0 (see
  `pad_ids`)."""
  return pad_ids(tokenizer(texts), max_length, padding_type, trunc_type)


def pad_ids(ids: tf.RaggedTensor, max_length: int | None,
            padding_type: str = "post", trunc_type: str = "post"
            ) -> tf.Tensor:
  """int32 [N, length] of ragged ids, padded with 0.

  Without max_length the length is the batch's longest text, at least
  `MIN_LENGTH`: a batch of short (or empty) texts still gives the course's
  Conv1D(128, 5) one window.
  """
  ids = pad_ragged(ids, max_length, padding_type, trunc_type)
  return ids if max_length is not None else pad_to_min_length(ids)


def pad_to_min_length(ids: tf.Tensor) -> tf.Tensor:
  """Dense [N, length] ids padded "post" with 0 to at least `MIN_LENGTH`
  steps (longer ones unchanged)."""
  short = tf.maximum(0, MIN_LENGTH - tf.shape(ids)[1])
  return tf.pad(ids, [[0, 0], [0, short]])


def tokenize_all(tokenizer: SubwordTokenizer, texts: Sequence[str]
                 ) -> tf.RaggedTensor:
  """Ragged int32 ids [N, pieces] of every text, tokenized by TF ops in
  blocks of `TOKENIZE_BLOCK` texts (once per run, not once per epoch).

  String ops run on one core each, so the blocks are tokenized in parallel
  (in order) by a tf.data map: about 1.8x faster on 2 cores.
  """
  if not texts:
    return tf.ragged.constant([], dtype=tf.int32, ragged_rank=1)
  blocks = tf.data.Dataset.from_tensor_slices(
      tf.constant(list(texts), tf.string, [len(texts)])).batch(
          TOKENIZE_BLOCK).map(tokenizer, num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=True)
  return tf.concat(list(blocks), axis=0)


def id_batches(ids: tf.RaggedTensor, targets: np.ndarray, batch_size: int,
               max_length: int | None, padding_type: str = "post",
               trunc_type: str = "post") -> tf.data.Dataset:
  """Batched (int32 ids, targets) of tokenized texts, in order, each batch
  padded on its own (`pad_ids`)."""
  return tf.data.Dataset.from_tensor_slices((ids, targets)).batch(
      batch_size).map(
          lambda batch, y: (pad_ids(batch, max_length, padding_type,
                                    trunc_type), y)).prefetch(tf.data.AUTOTUNE)


def classification_bundle(texts: Sequence[str], targets: np.ndarray,
                          n_train: int, h: Mapping[str, Any],
                          class_names: Sequence[str],
                          labels: LabelEncoder | None = None) -> DataBundle:
  """Learns the subword vocabulary on texts[:n_train] and batches the
  first n_train texts for training, the rest for validation.

  Args:
    texts: training texts, then validation texts.
    targets: one label per text.
    n_train: how many of the first texts train.
    h: vocab_size (target, padding included), max_length (None: per batch),
      padding_type, trunc_type, batch_size, seed; vocab_file (optional):
      a saved vocabulary to use instead of learning one (a resumed run);
      vocabulary_settings (optional): what the vocabulary was learned
      from, stored in text_config.json (`saved_vocabulary_settings`).
    class_names: name per class id.
    labels: the label encoder of string labels, saved beside the vocabulary.

  Raises:
    DataError: an empty training split, a bad size or padding argument.
  """
  batch_size = pipelines._positive_int(  # pylint: disable=protected-access
      h["batch_size"], "batch_size")
  if h["max_length"] is not None:
    check_padding_args(h["max_length"], h["padding_type"], h["trunc_type"])
  if n_train == 0:
    raise DataError("the training split is empty; raise training_portion or "
                    "provide more data.")
  if h.get("vocab_file"):
    tokenizer = SubwordTokenizer.load(h["vocab_file"])
  else:
    tokenizer = SubwordTokenizer.learn(texts[:n_train], h["vocab_size"])
  ids = tokenize_all(tokenizer, texts)
  targets = np.asarray(targets)

  def batches(rows: np.ndarray) -> tf.data.Dataset:
    return id_batches(tf.gather(ids, rows), targets[rows], batch_size,
                      h["max_length"], h["padding_type"], h["trunc_type"])

  def train(epoch: int) -> tf.data.Dataset:
    return batches(pipelines.epoch_rng(h["seed"], epoch).permutation(n_train))

  held_out = np.arange(n_train, len(targets))
  info = SubwordInfo(
      class_names=list(class_names), vocab_size=tokenizer.vocab_size,
      tokenizer=tokenizer, total_words=tokenizer.vocab_size,
      max_length=h["max_length"], padding_type=h["padding_type"],
      trunc_type=h["trunc_type"], num_classes=len(class_names),
      num_train=n_train, num_validation=len(held_out), label_encoder=labels,
      sample_text=texts[0],
      vocabulary_settings=dict(h.get("vocabulary_settings") or {}))
  artifacts = {VOCAB_FILE: tokenizer.to_text(),
               pipelines.CONFIG_FILE: json.dumps(info.encoder_config())}
  if labels is not None:
    artifacts[pipelines.LABELS_FILE] = labels.to_json()
  return DataBundle(
      train=train, validation=batches(held_out) if len(held_out) else None,
      steps_per_epoch=math.ceil(n_train / batch_size), info=info,
      artifacts=artifacts)


def imdb_bundle(path, hparams: Mapping[str, Any], extract_dir=None
                ) -> DataBundle:
  """IMDB reviews on a learned subword vocabulary (the course's subwords8k).

  The split is the word pipeline's (`pipelines.imdb_texts`): the test split
  validates when the data has one, else the last (1 - training_portion) of
  the seeded-shuffled train split.

  Args:
    path: the aclImdb folder or its .tar.gz/.tar.xz archive.
    hparams: vocab_size (8185 by default), max_length (None: any length),
      padding_type / trunc_type (used with max_length), batch_size, seed,
      training_portion.
    extract_dir: where to extract an archive (None: a temporary folder).

  Returns:
    int32 features (batch, length) and float32 0/1 labels (batch,).
  """
  h = dict(pipelines.COMMON_DEFAULTS, vocab_size=DEFAULT_VOCAB_SIZE,
           max_length=None, padding_type="post", trunc_type="post",
           training_portion=0.8, strip_html=True, vocab_file=None,
           vocabulary_settings=None)
  h.update({k: v for k, v in hparams.items() if k in h})
  texts, labels, n_train = pipelines.imdb_texts(path, h, extract_dir)
  return classification_bundle(texts, np.asarray(labels, np.float32),
                               n_train, h, ["neg", "pos"])


def bbc_bundle(path, hparams: Mapping[str, Any]) -> DataBundle:
  """BBC news on a learned subword vocabulary (`--tokenizer=subword`).

  The texts, split and labels are the word pipeline's (`pipelines.bbc_texts`:
  stop words removed, the first training_portion train, categories ranked
  by frequency from id 1); texts are padded and cut to max_length (120,
  "post") as the word model expects, or per batch when max_length is None.

  Args:
    path: bbc-text.csv.
    hparams: vocab_size (target, padding included), max_length,
      padding_type, trunc_type, batch_size, seed, training_portion,
      remove_stopwords; vocab_file, vocabulary_settings as in
      `classification_bundle`.

  Returns:
    int32 features (batch, length) and int32 labels (batch,).
  """
  h = dict(pipelines.COMMON_DEFAULTS, **pipelines.BBC_DEFAULTS,
           vocab_file=None, vocabulary_settings=None)
  h.update({k: v for k, v in hparams.items() if k in h})
  data, texts, n_train = pipelines.bbc_texts(path, h)
  labels = LabelEncoder(order="frequency", start=1).fit(data.labels)
  bundle = classification_bundle(texts, labels.encode(data.labels), n_train,
                                 h, labels.class_names, labels)
  bundle.info.skipped = data.skipped
  return bundle


class SubwordInferenceEncoder:
  """Encodes new text exactly as a subword bundle's training data was.

  The subword twin of `pipelines.InferenceEncoder` (same attributes):

    encoder = pipelines.load_inference_encoder(model_dir)
    x = encoder.encode(["a new review"])      # int32 (1, length)
  """

  def __init__(self, tokenizer: SubwordTokenizer, config: Mapping[str, Any],
               labels: LabelEncoder | None = None):
    """Wraps the restored tokenizer, the saved config and label encoder."""
    self.tokenizer = tokenizer
    self.config = dict(config)
    self.labels = labels

  @property
  def max_length(self) -> int | None:
    """The model's input length; None when any length is accepted."""
    value = self.config.get("max_length")
    return None if value is None else int(value)

  @property
  def class_names(self) -> list[str]:
    """Name per output id."""
    return list(self.config.get("class_names", []))

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """int32 (len(texts), length): padded to the longest text, or cut and
    padded to max_length, as in training."""
    texts = list(texts)
    if not texts:
      return np.zeros([0, self.max_length or 1], np.int32)
    return encode_batch(self.tokenizer, tf.constant(texts, tf.string),
                        self.max_length, self.config["padding_type"],
                        self.config["trunc_type"]).numpy()

  def batches(self, texts: Sequence[str], labels: np.ndarray,
              batch_size: int) -> tf.data.Dataset:
    """Batched (int32 ids, labels) in order, each batch padded on its own
    as training batched its validation split."""
    return id_batches(tokenize_all(self.tokenizer, list(texts)),
                      np.asarray(labels), batch_size, self.max_length,
                      self.config["padding_type"], self.config["trunc_type"])


def load_encoder(model_dir: str, config: Mapping[str, Any],
                 labels: LabelEncoder | None) -> SubwordInferenceEncoder:
  """The encoder of a subword run from its vocabulary file in model_dir.

  Raises:
    FileNotFoundError: model_dir lacks the vocabulary file.
    DataError: the file is not a subword vocabulary.
  """
  path = os.path.join(model_dir, config.get("vocab_file", VOCAB_FILE))
  return SubwordInferenceEncoder(SubwordTokenizer.load(path), config, labels)


def saved_vocabulary_settings(model_dir: str) -> dict | None:
  """What the subword vocabulary in model_dir was learned from (the
  `vocabulary_settings` of its text_config.json), or None: no subword
  vocabulary there, or one saved before the settings were recorded.

  Raises:
    DataError: text_config.json is not JSON.
  """
  config_path = os.path.join(model_dir, pipelines.CONFIG_FILE)
  if not os.path.exists(config_path):
    return None
  with open(config_path, encoding="utf-8") as f:
    try:
      config = json.load(f)
    except ValueError as e:
      raise DataError(f"{config_path}: not JSON ({e}).") from None
  vocab = os.path.join(model_dir, config.get("vocab_file", VOCAB_FILE))
  if (config.get("tokenizer") != TOKENIZER_NAME
      or not os.path.exists(vocab)):
    return None
  return config.get(SETTINGS_KEY)

