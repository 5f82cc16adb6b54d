"""Serving modules: a trained model plus its preprocessing, as tf.functions.

Each class is a `tf.Module` that owns the model (its variables) and the
preprocessing resources (lookup tables), and whose `signatures()` are the
SavedModel's signatures, all taking the model's *raw* input:

* `ImageClassifierServing`: `serving_default` takes encoded image files
  (`images`: tf.string [N]); `classify_pixels` takes float pixels
  (`pixels`: [N, H, W, C], already scaled). Both return `probabilities`,
  `class_ids` (int64 [N]) and `class_names` (tf.string [N]).
* `TextClassifierServing`: `serving_default` takes sentences (`texts`:
  tf.string [N]); `classify_ids` takes padded ids. Same outputs.
* `TextGeneratorServing`: `serving_default` takes `seed_text` (scalar
  string) and `num_words` (scalar int32) and returns `text`, greedy
  decoding with the loop in the graph; `next_token` gives the next-token
  probabilities of padded ids.
* `SeriesServing`: `serving_default` takes `windows` [N, window_size] and
  returns `next_value` [N]; `forecast` takes a whole `series` [T] and
  returns `forecasts` [T - window_size + 1], one per window (the course's
  `model_forecast`).
* `GenericServing`: `serving_default` maps the model's input to `outputs`.

`model_input()` of each is the numeric-input function that TFLite converts.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from data.images import serving as image_serving
from data.text.graph_tokenizer import GraphTokenizer


def padded_class_names(class_names: Sequence[str], num_outputs: int
                       ) -> list[str]:
  """A name for every class id the outputs can give ("class 3" if none).

  A sigmoid output (width 1) has two classes.
  """
  count = max(2 if num_outputs == 1 else num_outputs, len(class_names))
  names = list(class_names) + [""] * (count - len(class_names))
  return [name or f"class {index}" for index, name in enumerate(names)]


class _ClassifierServing(tf.Module):
  """Shared outputs: probabilities, class ids, class names."""

  def __init__(self, model, class_names: Sequence[str], num_outputs: int,
               binary_threshold_inclusive: bool, name: str):
    super().__init__(name=name)
    self.model = model
    self.class_name_table = tf.constant(
        padded_class_names(class_names, num_outputs), tf.string)
    self.inclusive = binary_threshold_inclusive
    self.get_class_names = tf.function(lambda: self.class_name_table,
                                       input_signature=[])

  def _outputs(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
    probabilities = self.model(inputs, training=False)
    if probabilities.shape[-1] == 1:
      positive = probabilities[:, 0]
      above = positive >= 0.5 if self.inclusive else positive > 0.5
      class_ids = tf.cast(above, tf.int64)
    else:
      class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
    return {"probabilities": probabilities, "class_ids": class_ids,
            "class_names": tf.gather(self.class_name_table, class_ids)}


class ImageClassifierServing(_ClassifierServing):
  """Encoded images or float pixels -> probabilities, class ids and names.

  Args:
    model: the trained image classifier.
    input_shape: (height, width, channels) it was trained on.
    class_names: name per class id.
    num_outputs: the model's output width (1 for a sigmoid).
    rescale: the training pipeline's pixel factor.
  """

  def __init__(self, model, input_shape: Sequence[int],
               class_names: Sequence[str], num_outputs: int,
               rescale: float):
    super().__init__(model, class_names, num_outputs, True,
                     name="image_classifier")
    height, width, channels = (int(v) for v in input_shape)
    self.image_size, self.channels = (height, width), channels
    self.rescale = float(rescale)
    self.classify_images = tf.function(
        self._classify_images,
        input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    self.classify_pixels = tf.function(
        self._outputs, input_signature=[tf.TensorSpec(
            [None, height, width, channels], tf.float32, name="pixels")])
    self.model_input = tf.function(
        lambda pixels: self.model(pixels, training=False),
        input_signature=[tf.TensorSpec([None, height, width, channels],
                                       tf.float32, name="pixels")])

  def _classify_images(self, images):
    pixels = image_serving.decode_images(images, self.image_size,
                                         self.channels, self.rescale)
    return self._outputs(pixels)

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.classify_images.get_concrete_function(),
            "classify_pixels": self.classify_pixels.get_concrete_function()}


class TextClassifierServing(_ClassifierServing):
  """Sentences or padded ids -> probabilities, class ids and names.

  Args:
    model: the trained text classifier.
    tokenizer: a `GraphTokenizer` built from the run's saved tokenizer.
    class_names: name per class id.
    num_outputs: the model's output width (1 for a sigmoid).
  """

  def __init__(self, model, tokenizer: GraphTokenizer,
               class_names: Sequence[str], num_outputs: int):
    super().__init__(model, class_names, num_outputs, True,
                     name="text_classifier")
    self.tokenizer = tokenizer
    length = tokenizer.max_length
    self.classify_texts = tf.function(
        lambda texts: self._outputs(self.tokenizer(texts)),
        input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    self.classify_ids = tf.function(
        self._outputs,
        input_signature=[tf.TensorSpec([None, length], tf.int32, name="ids")])
    self.model_input = tf.function(
        lambda ids: self.model(ids, training=False),
        input_signature=[tf.TensorSpec([None, length], tf.int32, name="ids")])

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.classify_texts.get_concrete_function(),
            "classify_ids": self.classify_ids.get_concrete_function()}


class TextGeneratorServing(tf.Module):
  """Seed text + number of tokens -> generated text (greedy), in the graph.

  Mirrors `models.text.TextGenerator.generate` with temperature 0:
  each step pads/cuts the ids so far ("pre") to the input length, takes the
  most likely id (never padding 0, nor an id past the vocabulary), and
  appends its word (joined by spaces; characters are joined directly).

  Args:
    model: the trained next-token model.
    tokenizer: the training `data.text.tokenizer.Tokenizer`.
    max_length: the model's input length.
  """

  def __init__(self, model, tokenizer, max_length: int):
    super().__init__(name="text_generator")
    self.model = model
    self.graph_tokenizer = GraphTokenizer(tokenizer, max_length, "pre", "pre")
    self.max_length = int(max_length)
    self.num_tokens = int(tokenizer.vocab_size)
    self.joiner = "" if tokenizer.char_level else " "
    oov = tokenizer.oov_index
    self.oov_index = -1 if oov is None else int(oov)
    ids = sorted(tokenizer.index_word)
    self.words = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(ids, tf.int64),
            tf.constant([tokenizer.index_word[i] for i in ids], tf.string)),
        default_value="")
    self.generate = tf.function(self._generate, input_signature=[
        tf.TensorSpec([], tf.string, name="seed_text"),
        tf.TensorSpec([], tf.int32, name="num_words")])
    ids_spec = tf.TensorSpec([None, self.max_length], tf.int32, name="ids")
    self.model_input = tf.function(
        lambda ids: self.model(ids, training=False),
        input_signature=[ids_spec])
    self.next_token = tf.function(
        lambda ids: {"probabilities": self.model(ids, training=False)},
        input_signature=[ids_spec])

  def _next_token(self, ids: tf.Tensor) -> tf.Tensor:
    window = ids[-self.max_length:]
    padded = tf.pad(window, [[self.max_length - tf.size(window), 0]])
    probabilities = self.model(padded[tf.newaxis], training=False)[0]
    width = tf.shape(probabilities)[0]
    usable = ((tf.range(width) > 0) & (tf.range(width) < self.num_tokens))
    masked = tf.where(usable, probabilities, tf.zeros_like(probabilities))
    return tf.argmax(masked, output_type=tf.int32)

  def _generate(self, seed_text, num_words):
    ids = self.encoder_ids(seed_text)
    tf.debugging.assert_greater(
        tf.reduce_sum(tf.cast(tf.not_equal(ids, self.oov_index), tf.int32)), 0,
        message="the seed text has no token of the training vocabulary")
    words = tf.TensorArray(tf.string, size=0, dynamic_size=True)
    for step in tf.range(num_words):
      tf.autograph.experimental.set_loop_options(
          shape_invariants=[(ids, tf.TensorShape([None]))])
      token = self._next_token(ids)
      ids = tf.concat([ids, [token]], 0)
      words = words.write(step, self.words.lookup(tf.cast(token, tf.int64)))
    generated = tf.strings.reduce_join(words.stack(), separator=self.joiner)
    text = tf.cond(num_words > 0,
                   lambda: tf.strings.join([seed_text, generated],
                                           separator=self.joiner),
                   lambda: seed_text)
    return {"text": text}

  def encoder_ids(self, seed_text: tf.Tensor) -> tf.Tensor:
    """The seed text's ids (unpadded), as `texts_to_sequences` gives them."""
    return self.graph_tokenizer.encoder(seed_text[tf.newaxis])[0]

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.generate.get_concrete_function(),
            "next_token": self.next_token.get_concrete_function()}


class SeriesServing(tf.Module):
  """Windows -> next value; a whole series -> one forecast per window.

  Args:
    model: the trained forecaster; its input is [N, window] or, for a
      sequence-to-sequence model, [N, window, 1].
    window_size: steps per window.
    seq2seq: the model takes [N, window, 1] and forecasts every step (the
      last step's forecast is the next value).
  """

  def __init__(self, model, window_size: int, seq2seq: bool):
    super().__init__(name="series_forecaster")
    self.model = model
    self.window_size, self.seq2seq = int(window_size), bool(seq2seq)
    window = tf.TensorSpec([None, self.window_size], tf.float32,
                           name="windows")
    self.predict_windows = tf.function(
        lambda windows: {"next_value": self._next_value(windows)},
        input_signature=[window])
    self.forecast = tf.function(self._forecast, input_signature=[
        tf.TensorSpec([None], tf.float32, name="series")])
    self.model_input = tf.function(self._next_value, input_signature=[window])

  def _next_value(self, windows: tf.Tensor) -> tf.Tensor:
    inputs = windows[..., tf.newaxis] if self.seq2seq else windows
    outputs = self.model(inputs, training=False)
    if self.seq2seq:
      return outputs[:, -1, 0]
    return tf.reshape(outputs, [tf.shape(outputs)[0], -1])[:, 0]

  def _forecast(self, series):
    windows = tf.signal.frame(series, self.window_size, 1)
    return {"forecasts": self._next_value(windows)}

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.predict_windows.get_concrete_function(),
            "forecast": self.forecast.get_concrete_function()}


class GenericServing(tf.Module):
  """The model's own input -> `outputs`, for models without a domain.

  Args:
    model: the trained model.
    input_spec: a `tf.TensorSpec` of one batch of features.
  """

  def __init__(self, model, input_spec: tf.TensorSpec):
    super().__init__(name="model_outputs")
    self.model = model
    spec = tf.TensorSpec(input_spec.shape, input_spec.dtype, name="inputs")
    self.model_input = tf.function(
        lambda inputs: self.model(inputs, training=False),
        input_signature=[spec])
    self.predict = tf.function(
        lambda inputs: {"outputs": self.model(inputs, training=False)},
        input_signature=[spec])

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.predict.get_concrete_function()}
