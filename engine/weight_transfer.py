"""Assigns Keras-ordered weight arrays to a built model's layers, checked.

The mapping is explicit: each engine layer with weights has a Keras kind
and a Keras variable order (`keras_variables`), layers are listed in
creation order (`weighted_layers`: containers expose `.layers`), and the
i-th engine layer of a kind takes the i-th Keras layer of that kind. Every
pair is checked (count and shape of every array) before anything is
assigned, so a mismatch leaves the model untouched and its error names the
first layer that does not fit.

The arrays come from any reader that yields objects with `name`, `kind`
and `arrays` (see `data.keras_weights.read_layers`).

Example:

  model.build([28, 28, 1])
  assign_keras_layers(model, keras_weights.read_layers("mnist.weights.h5"))
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import tensorflow as tf

from engine.errors import EngineUserError
from engine.modules.conv import Conv1D, Conv2D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.norm import BatchNormalization


def keras_variables(layer: tf.Module) -> tuple[str, list[tf.Variable]] | None:
  """(Keras kind, variables in Keras's order) of a layer; None if weightless.

  Raises:
    EngineUserError: a layer with variables that has no Keras counterpart.
  """
  if isinstance(layer, (Conv1D, Conv2D, Dense)):
    kind = {Conv1D: "conv1d", Conv2D: "conv2d", Dense: "dense"}[type(layer)]
    return kind, [layer.w] + ([layer.b] if layer.use_bias else [])
  if isinstance(layer, BatchNormalization):
    variables = ([layer.gamma] if layer.scale else []) + (
        [layer.beta] if layer.center else [])
    return "batch_normalization", variables + [layer.moving_mean,
                                               layer.moving_variance]
  if isinstance(layer, Embedding):
    return "embedding", [layer.embeddings]
  if layer.variables:
    raise EngineUserError(
        f"layer {layer.name} ({type(layer).__name__}) has weights but no "
        "Keras mapping; only Conv1D, Conv2D, Dense, BatchNormalization and "
        "Embedding layers can take Keras weights.")
  return None


def _leaves(module: tf.Module) -> Iterator[tf.Module]:
  layers = getattr(module, "layers", None)
  if isinstance(layers, (list, tuple)):
    for layer in layers:
      yield from _leaves(layer)
  else:
    yield module


def weighted_layers(model: tf.Module
                    ) -> dict[str, list[tuple[tf.Module, list[tf.Variable]]]]:
  """Kind -> [(layer, variables)] in creation order, for a built model.

  Raises:
    EngineUserError: the model is not built yet, or has a layer with
      weights that Keras files cannot hold.
  """
  if not getattr(model, "built", True) or not model.variables:
    raise EngineUserError(
        f"{model.name}: build the model (call it once or model.build("
        "input_shape)) before loading weights into it.")
  result: dict[str, list] = {}
  for layer in _leaves(model):
    mapped = keras_variables(layer)
    if mapped is not None:
      result.setdefault(mapped[0], []).append((layer, mapped[1]))
  return result


def _shape(value) -> tuple[int, ...]:
  return tuple(int(d) for d in value.shape)


def _check_pair(layer, variables, source) -> str | None:
  """Why `source` does not fit `layer` (None when it fits)."""
  arrays = source.arrays
  if len(arrays) != len(variables):
    return (f"Keras layer {source.name} has {len(arrays)} weights, "
            f"{layer.name} needs {len(variables)} "
            f"({', '.join(v.name.split('/')[-1].split(':')[0] for v in variables)})")
  for variable, array in zip(variables, arrays):
    if _shape(variable) != _shape(array):
      short = variable.name.split("/")[-1].split(":")[0]
      return (f"Keras layer {source.name} does not fit {layer.name}: "
              f"{short} has shape {_shape(array)} in the file, "
              f"{_shape(variable)} in the model")
  return None


def plan_assignment(model: tf.Module, layers: Mapping[str, Sequence[Any]],
                    allow_extra: bool = False
                    ) -> list[tuple[tf.Variable, np.ndarray]]:
  """Pairs every model variable with its array, checking everything.

  Args:
    model: a built model.
    layers: kind -> Keras layers in creation order (with `name`, `arrays`).
    allow_extra: accept files with MORE layers of a kind than the model
      (the model is a prefix of the file's network, e.g. InceptionV3 cut
      at mixed7 taking the full network's file).

  Returns:
    (variable, array) pairs, in model order.

  Raises:
    EngineUserError: a count, kind or shape mismatch (one line, naming
      the first layer that does not fit).
  """
  ours = weighted_layers(model)
  pairs = []
  for kind, targets in ours.items():
    sources = list(layers.get(kind, ()))
    if len(sources) < len(targets) or (
        len(sources) > len(targets) and not allow_extra):
      if len(sources) < len(targets):
        first = f"{targets[len(sources)][0].name} gets no weights"
      else:
        first = (f"{sources[len(targets)].name} of the file is extra (a "
                 "model cut from the file's network needs allow_extra)")
      raise EngineUserError(
          f"{model.name} has {len(targets)} {kind} layers but the weights "
          f"have {len(sources)}; the first that does not fit: {first}")
    for (layer, variables), source in zip(targets, sources):
      problem = _check_pair(layer, variables, source)
      if problem:
        raise EngineUserError(f"{model.name}: {problem}")
      pairs.extend(zip(variables, source.arrays))
  extra = sorted(set(layers) - set(ours))
  if extra and not allow_extra:
    kind = extra[0]
    raise EngineUserError(
        f"{model.name} has no {kind} layer but the weights have "
        f"{len(layers[kind])}, the first is {layers[kind][0].name}")
  return pairs


def assign_keras_layers(model: tf.Module,
                        layers: Mapping[str, Sequence[Any]],
                        allow_extra: bool = False) -> int:
  """Validates every layer, then assigns all arrays; returns their count.

  Nothing is assigned when any layer does not fit (see `plan_assignment`).
  """
  pairs = plan_assignment(model, layers, allow_extra)
  for variable, array in pairs:
    variable.assign(np.asarray(array, variable.dtype.as_numpy_dtype))
  return len(pairs)
