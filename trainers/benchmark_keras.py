"""The Keras copy of an engine Sequential, for the benchmark race only.

This is the one place outside tests/ that imports Keras (the brief's
exception: the benchmark races our loop against `model.fit`). Each engine
layer maps to the Keras layer with the same configuration, and the engine
model's initial weights are copied in, so both start from the same point.
"""

from __future__ import annotations

import keras

from engine.modules import basic, conv, dense, embed, pool, recurrent
from engine.modules import sequential, wrappers

_POOLS = {
    pool.GlobalAveragePooling1D: keras.layers.GlobalAveragePooling1D,
    pool.GlobalAveragePooling2D: keras.layers.GlobalAveragePooling2D,
    pool.GlobalMaxPooling1D: keras.layers.GlobalMaxPooling1D,
    pool.GlobalMaxPooling2D: keras.layers.GlobalMaxPooling2D,
}


def _recurrent(layer, go_backwards=None):
  common = dict(units=layer.units, activation=layer.activation,
                use_bias=layer.use_bias,
                return_sequences=layer.return_sequences,
                go_backwards=(layer.go_backwards if go_backwards is None
                              else go_backwards))
  if isinstance(layer, recurrent.LSTM):
    return keras.layers.LSTM(
        recurrent_activation=layer.recurrent_activation,
        unit_forget_bias=layer.unit_forget_bias, **common)
  if isinstance(layer, recurrent.GRU):
    return keras.layers.GRU(recurrent_activation=layer.recurrent_activation,
                            reset_after=layer.reset_after, **common)
  return keras.layers.SimpleRNN(**common)


def keras_layer(layer):
  """The Keras layer configured like engine `layer`."""
  if isinstance(layer, dense.Dense):
    return keras.layers.Dense(layer.units, activation=layer.activation,
                              use_bias=layer.use_bias)
  if isinstance(layer, (conv.Conv1D, conv.Conv2D)):
    cls = (keras.layers.Conv1D if isinstance(layer, conv.Conv1D)
           else keras.layers.Conv2D)
    return cls(layer.filters, layer.kernel_size, strides=layer.strides,
               padding=layer.padding, dilation_rate=layer.dilation_rate,
               activation=layer.activation, use_bias=layer.use_bias)
  if isinstance(layer, (pool.MaxPool1D, pool.MaxPool2D)):
    cls = (keras.layers.MaxPooling1D if isinstance(layer, pool.MaxPool1D)
           else keras.layers.MaxPooling2D)
    return cls(layer.pool_size, strides=layer.strides, padding=layer.padding)
  if type(layer) in _POOLS:
    return _POOLS[type(layer)]()
  if isinstance(layer, embed.Embedding):
    return keras.layers.Embedding(layer.input_dim, layer.output_dim,
                                  trainable=layer.trainable)
  if isinstance(layer, recurrent.RecurrentBase):
    return _recurrent(layer)
  if isinstance(layer, wrappers.Bidirectional):
    return keras.layers.Bidirectional(
        _recurrent(layer.forward_layer),
        backward_layer=_recurrent(layer.backward_layer, go_backwards=True))
  if hasattr(layer, "block_outputs"):   # models.vision.InceptionV3
    return _keras_inception(layer)
  if isinstance(layer, basic.Flatten):
    return keras.layers.Flatten()
  if isinstance(layer, basic.Dropout):
    return keras.layers.Dropout(layer.rate)
  if isinstance(layer, basic.Scale):
    factor = layer.factor
    return keras.layers.Lambda(lambda x: x * factor)
  if isinstance(layer, basic.ExpandDims):
    axis = layer.axis
    return keras.layers.Lambda(lambda x: keras.ops.expand_dims(x, axis))
  if isinstance(layer, basic.Lambda):
    return keras.layers.Lambda(layer.fn)
  raise TypeError(f"the benchmark has no Keras twin for {type(layer).__name__}")


def _keras_inception(layer):
  """Keras's InceptionV3 cut like `layer`; `layer` takes its weights, so
  both sides start equal (frozen like ours when ours is frozen)."""
  import os
  import tempfile
  from data import keras_weights
  from engine import weight_transfer
  full = keras.applications.InceptionV3(
      weights=None, include_top=False, input_shape=layer.input_shape)
  base = keras.Model(full.input, full.get_layer(layer.cut_at).output)
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "base.weights.h5")
    full.save_weights(path)
    weight_transfer.assign_keras_layers(
        layer, keras_weights.read_layers(path), allow_extra=True)
  base.trainable = bool(layer.trainable_variables)
  return base


def engine_weights(layer) -> list:
  """Layer weights in Keras's order (kernel, recurrent kernel, bias)."""
  if isinstance(layer, wrappers.Bidirectional):
    return (engine_weights(layer.forward_layer)
            + engine_weights(layer.backward_layer))
  if isinstance(layer, embed.Embedding):
    return [layer.embeddings.numpy()]
  if hasattr(layer, "block_outputs"):
    return []   # set the other way round by _keras_inception
  names = ("w", "u", "b")
  return [getattr(layer, n).numpy() for n in names
          if getattr(layer, n, None) is not None]


def twin(model: sequential.Sequential, input_shape, input_dtype):
  """A built keras.Sequential equal to the built engine `model`."""
  layers = [keras_layer(layer) for layer in model.layers]
  keras_model = keras.Sequential(
      [keras.Input(shape=tuple(input_shape), dtype=input_dtype), *layers])
  for ours, theirs in zip(model.layers, layers):
    values = engine_weights(ours)
    if values:
      theirs.set_weights(values)
  return keras_model


def keras_optimizer(name: str, learning_rate: float, **kwargs):
  """The Keras optimizer matching an engine optimizer name."""
  classes = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
             "rmsprop": keras.optimizers.RMSprop}
  return classes[name](learning_rate=learning_rate, **kwargs)
