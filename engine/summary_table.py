"""The `model.summary()` table: each layer's output shape and param count.

Output shapes come from tracing the model with a batch dim of None (plus any
None dims of the input shape), so they read like Keras's: `(None, 13, 13, 64)`.

Example:

  print(summarize(model, input_shape=[28, 28]))
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable, Sequence

import tensorflow as tf

from engine.module import Module, check_built


@dataclasses.dataclass(frozen=True)
class Row:
  """One line of the table.

  Attributes:
    name: unique display name (dense, dense_1, ...).
    type_name: the layer's class name.
    output_shape: the output's static shape as a tuple (None for unknown
      dims); a nested list/tuple of them for a layer with several outputs.
    params: number of scalars in all of the layer's variables.
  """
  name: str
  type_name: str
  output_shape: Any
  params: int


@dataclasses.dataclass(frozen=True)
class ParamCounts:
  """Model-wide totals; frozen layers' params count as non-trainable."""
  total: int
  trainable: int
  non_trainable: int


def _count(variables) -> int:
  """Number of scalars in `variables`, each variable counted once."""
  unique = {id(v): v for v in variables}
  return sum(v.shape.num_elements() for v in unique.values())


def _layer_outputs(model, x: tf.Tensor, training: bool = False
                   ) -> list[tuple[tf.Module, Any]]:
  """(layer, output) pairs: a container's top-level items, else the model."""
  if hasattr(model, "intermediate_outputs"):
    return model.intermediate_outputs(x, training=training)
  return [(model, model(x, training=training))]


def _traced_layer_outputs(model, input_shape: Sequence[int | None],
                          dtype: tf.DType) -> list[tuple[tf.Module, Any]]:
  """Traces the model once on a symbolic input of shape [None, *input_shape].

  Tracing builds unbuilt layers (their variables are created eagerly) and
  gives static shapes in which the batch dim and every dim that depends on
  a None input dim stay None.
  """
  layers = []

  def forward(x):
    pairs = _layer_outputs(model, x)
    layers[:] = [layer for layer, _ in pairs]
    return [output for _, output in pairs]

  spec = tf.TensorSpec([None, *input_shape], dtype)
  outputs = tf.function(forward).get_concrete_function(spec).structured_outputs
  return list(zip(layers, outputs))


def _static_shape(output) -> Any:
  return tf.nest.map_structure(
      lambda t: tuple(t.shape.as_list()) if hasattr(t, "shape") else None,
      output)


def _unique_names(layers: Sequence[tf.Module]) -> list[str]:
  """Layer names made unique like Keras: dense, dense_1, dense_2, ..."""
  seen = collections.Counter()
  names = []
  for layer in layers:
    base = layer.name
    name = base if seen[base] == 0 else f"{base}_{seen[base]}"
    while name in names:
      seen[base] += 1
      name = f"{base}_{seen[base]}"
    seen[base] += 1
    names.append(name)
  return names


def layer_rows(model, input_shape: Sequence[int | None],
               dtype: tf.DType = tf.float32) -> list[Row]:
  """One `Row` per top-level layer (the whole model if it has no layers).

  Args:
    model: a Sequential (anything with `intermediate_outputs`) or a module.
    input_shape: one example's shape WITHOUT the batch dim; None allowed.
    dtype: the input dtype (an integer dtype for an Embedding first).

  Returns:
    The rows, first layer to last. Unbuilt layers get built.
  """
  pairs = _traced_layer_outputs(model, input_shape, dtype)
  names = _unique_names([layer for layer, _ in pairs])
  return [Row(name, type(layer).__name__, _static_shape(output),
              _count(layer.variables))
          for name, (layer, output) in zip(names, pairs)]


def param_counts(model: tf.Module) -> ParamCounts:
  """Total, trainable and non-trainable parameter counts of `model`.

  Raises:
    NotBuiltError: `model` is an engine Module that has not been built
      (its counts would read 0).
  """
  if isinstance(model, Module):
    check_built(model, "param_counts")
  total = _count(model.variables)
  trainable = _count(model.trainable_variables)
  return ParamCounts(total, trainable, total - trainable)


def format_shape(shape: Any) -> str:
  """`(None, 128)` for a shape tuple; a list of those for several outputs."""
  if isinstance(shape, tuple) and all(
      d is None or isinstance(d, int) for d in shape):
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"
  if isinstance(shape, (list, tuple)):
    return "[" + ", ".join(format_shape(s) for s in shape) + "]"
  return str(shape)


def summarize(model: tf.Module, input_shape: Sequence[int | None],
              dtype: tf.DType = tf.float32) -> str:
  """A Keras-style summary table of `model` (built first if needed).

  Args:
    model: a Sequential (each top-level item is one row) or any module.
    input_shape: one example's shape WITHOUT the batch dim; None allowed.
    dtype: the input dtype (an integer dtype for an Embedding first).

  Returns:
    The table: name (type), output shape and params per layer, then the
    total, trainable and non-trainable parameter counts.
  """
  rows = layer_rows(model, input_shape, dtype)
  counts = param_counts(model)
  cells = [(f"{r.name} ({r.type_name})", format_shape(r.output_shape),
            f"{r.params:,}") for r in rows]
  header = ("Layer (type)", "Output Shape", "Param #")
  widths = [max(len(c[i]) for c in [header, *cells]) + 2 for i in range(3)]
  line_width = sum(widths) + 1

  def line(c):
    return f" {c[0]:<{widths[0]}}{c[1]:<{widths[1]}}{c[2]:>{widths[2] - 2}}"

  lines = [f'Model: "{model.name}"', "_" * line_width, line(header),
           "=" * line_width]
  for i, c in enumerate(cells):
    lines.append(line(c))
    lines.append("_" * line_width if i < len(cells) - 1 else "=" * line_width)
  if not cells:
    lines.append("=" * line_width)
  lines += [f"Total params: {counts.total:,}",
            f"Trainable params: {counts.trainable:,}",
            f"Non-trainable params: {counts.non_trainable:,}",
            "_" * line_width]
  return "\n".join(lines)


def print_summary(model: tf.Module, input_shape: Sequence[int | None] | None,
                  dtype: tf.DType = tf.float32,
                  print_fn: Callable[[str], None] | None = print) -> str:
  """`summarize(model, input_shape, dtype)`, printed with `print_fn`.

  The `summary()` method of Sequential and InceptionV3.

  Raises:
    ValueError: `input_shape` is None (the model was never built).
  """
  if input_shape is None:
    raise ValueError(
        f"{model.name}: summary() needs the input shape; pass "
        "summary(input_shape=...) or call build(input_shape) first.")
  text = summarize(model, input_shape, dtype)
  if print_fn is not None:
    print_fn(text)
  return text
