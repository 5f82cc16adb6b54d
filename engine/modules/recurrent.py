"""Recurrent layers (SimpleRNN, LSTM, GRU) and the time loop they share.

The math, weight layout and defaults match Keras 3 (`keras.layers.SimpleRNN`,
`LSTM` with gates (i, f, c, o), `GRU` with `reset_after=True`), so weights
copy one to one: `w` <-> kernel, `u` <-> recurrent_kernel, `b` <-> bias.

How a call runs, chosen for speed on CPU, where a recurrent step is a tiny
matmul plus a dozen tiny elementwise ops and per-op overhead dominates:

1. The inputs of ALL timesteps are projected by `w` (plus the input bias) in
   one matmul, time-major `[time, batch, width]`.
2. A time loop runs the `Cell`: one matmul `h @ u` for all gates, then the
   elementwise gate math. Static sequences up to `MAX_AUTO_UNROLL` steps are
   unrolled in Python; longer or variable-length ones (time None) run in a
   `tf.while_loop` whose iterations each unroll `LOOP_CHUNK` steps.
3. The gradient is hand-written (`tf.custom_gradient`) rather than
   TensorFlow's automatic one: the backward loop does one matmul and the
   elementwise derivatives per step (recomputing the cheap gate
   activations), and `d u` and `d w` are each one big matmul over all
   timesteps after it. Automatic differentiation of a while loop instead
   pushes every intermediate onto stacks and re-accumulates the whole input
   sequence's gradient at every step. Cells whose activations have no known
   derivative fall back to a GradientTape per step.

Example:

  lstm = LSTM(64, return_sequences=True)
  y = lstm(tf.zeros([32, 20, 8]))           # [32, 20, 64]
  backward = lstm.clone(go_backwards=True)  # same config, fresh weights
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable, Sequence

import tensorflow as tf

from engine import activations
from engine import initializers
from engine import mixed_precision
from engine.module import Module

# With unroll="auto", static sequences up to this length are unrolled in
# Python; longer or variable-length ones use tf.while_loop. Unrolling runs
# ~10% faster than the loop but traces in time proportional to the length
# (about 1 s per 30 steps of one layer's forward and backward).
MAX_AUTO_UNROLL = 32
# A while loop runs this many unrolled steps per iteration (measured best
# among 4, 8 and 16 for an LSTM(64) on CPU).
LOOP_CHUNK = 8

State = tuple[tf.Tensor, ...]
Grads = tuple[tf.Tensor | None, ...]

# -- activation derivatives, from the activation's output ------------------

_GRAD_FROM_OUTPUT: dict[Any, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    tf.tanh: lambda y, dy: tf.raw_ops.TanhGrad(y=y, dy=dy),
    tf.sigmoid: lambda y, dy: tf.raw_ops.SigmoidGrad(y=y, dy=dy),
    tf.nn.relu: lambda y, dy: tf.raw_ops.ReluGrad(gradients=dy, features=y),
    activations.linear: lambda y, dy: dy,
}


def _grad_from_output(activation: Callable) -> Callable | None:
  """`(y, dy) -> dx` for `y = activation(x)`, or None if unknown."""
  return _GRAD_FROM_OUTPUT.get(activation)


# -- the cell ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cell:
  """One recurrent step, split into the recurrent matmul and the rest.

  Each step computes `inner_t = state[0] @ u (+ recurrent_bias)` and then
  `forward(*step_inputs, state, *params) -> new_state`, where `step_inputs`
  is `(x_t + inner_t,)` when `additive` (SimpleRNN, LSTM) and
  `(x_t, inner_t)` otherwise (GRU). The step's output is `new_state[0]`.

  Attributes:
    forward: the elementwise part of the step (may matmul with `params`).
    backward: optional hand-written vector-Jacobian product of `forward`:
      `(step_inputs, previous, d_new) -> (d_step_inputs, d_previous,
      d_params)`, entries of d_previous may be None (no direct path). It
      recomputes what it needs (the elementwise math is cheaper than saving
      and stacking it). When None, the gradient is taken through `forward`
      with a GradientTape.
    u: the recurrent kernel, a tensor (read once per call).
    recurrent_bias: optional `[width]`, added to `inner_t`.
    params: further tensors `forward` uses; their gradients sum over time.
    additive: see above.
  """

  forward: Callable[..., State]
  u: tf.Tensor
  backward: Callable[..., tuple[Grads, Grads, Grads]] | None = None
  recurrent_bias: tf.Tensor | None = None
  params: tuple[tf.Tensor, ...] = ()
  additive: bool = True

  def inner(self, h: tf.Tensor) -> tf.Tensor:
    """The recurrent projection `h @ u (+ recurrent_bias)`."""
    inner = tf.matmul(h, self.u)
    if self.recurrent_bias is not None:
      inner = tf.nn.bias_add(inner, self.recurrent_bias)
    return inner

  def step_inputs(self, x_t: tf.Tensor, inner_t: tf.Tensor
                  ) -> tuple[tf.Tensor, ...]:
    """The leading arguments of `forward` for one step."""
    return (x_t + inner_t,) if self.additive else (x_t, inner_t)

  def vjp(self, step_inputs: State, previous: State, d_new: State
          ) -> tuple[Grads, Grads, Grads]:
    """Gradients of one `forward` w.r.t. (step_inputs, previous, params)."""
    if self.backward is not None:
      return self.backward(step_inputs, previous, d_new)
    sources = (step_inputs, previous, self.params)
    with tf.GradientTape() as tape:
      tape.watch(sources)
      recomputed = self.forward(*step_inputs, previous, *self.params)
    return tape.gradient(recomputed, sources, output_gradients=list(d_new),
                         unconnected_gradients=tf.UnconnectedGradients.ZERO)


# -- the time loop ----------------------------------------------------------


def run_time_loop(cell: Cell, projected: tf.Tensor, initial_state: State, *,
                  unroll: bool, return_sequences: bool
                  ) -> tuple[tf.Tensor | None, State]:
  """Runs `cell` over time-major `projected` inputs, with a fused gradient.

  Args:
    cell: the step (see `Cell`).
    projected: `[time, batch, width]` inputs already multiplied by the
      input kernel (plus input bias), in processing order.
    initial_state: tuple of `[batch, units]` tensors.
    unroll: True to unroll in Python (needs a static time dimension), False
      for a `tf.while_loop`.
    return_sequences: whether to return every step's output.

  Returns:
    `(outputs, final_state)`: outputs is the time-major `[time, batch,
    units]` sequence of `h` in processing order, or None when not
    `return_sequences`.
  """
  if unroll and projected.shape[0] is None:
    raise ValueError(
        f"unroll=True needs a static time dimension, got projected inputs "
        f"of shape {projected.shape}; use unroll=False.")
  initial_state = tuple(initial_state)
  num_states = len(initial_state)
  has_bias = cell.recurrent_bias is not None
  num_params = len(cell.params)

  @tf.custom_gradient
  def recurrence(projected, u, *rest):
    bias = rest[0] if has_bias else None
    params = tuple(rest[has_bias:has_bias + num_params])
    initial = tuple(rest[has_bias + num_params:])
    loop_cell = dataclasses.replace(
        cell, u=u, recurrent_bias=bias, params=params)
    history = _forward_loop(loop_cell, projected, initial, unroll)

    def grad(*upstream):
      d_final = tuple(tf.zeros_like(s) if d is None else d
                      for s, d in zip(history.final, upstream[:num_states]))
      d_outputs = upstream[num_states] if return_sequences else None
      return _backward_loop(loop_cell, projected, history, d_final,
                            d_outputs)

    if return_sequences:
      return history.final + (history.outputs(),), grad
    return history.final, grad

  bias = (cell.recurrent_bias,) if has_bias else ()
  results = recurrence(projected, cell.u, *bias, *cell.params,
                       *initial_state)
  final = tuple(results[:num_states])
  return (results[num_states] if return_sequences else None), final


# A sequence over time, as produced by a loop: the Python list of per-step
# tensors when unrolled, a TensorArray in a while loop (reading an element
# back is free, stacking copies), or a time-major tensor.
Steps = list | tf.TensorArray | tf.Tensor


def _as_tensor(steps: Steps) -> tf.Tensor:
  """The time-major tensor of `steps`."""
  if isinstance(steps, list):
    return tf.stack(steps)
  if isinstance(steps, tf.TensorArray):
    return steps.stack()
  return steps


@dataclasses.dataclass
class _History:
  """What the forward loop leaves for the outputs and the backward loop.

  Attributes:
    final: the state after the last step.
    saved: per step, the last of `step_inputs` (gates or inner).
    before: per state tensor, its value before each step.
    num_steps: the number of steps (a Python int when static).
    unroll: whether the loop was unrolled (then `saved` and `before` are
      lists, else TensorArrays).
  """

  final: State
  saved: Steps
  before: tuple[Steps, ...]
  num_steps: Any
  unroll: bool
  _h_before: tf.Tensor | None = None

  def h_before(self) -> tf.Tensor:
    """`[time, batch, units]`: h before each step (stacked once)."""
    if self._h_before is None:
      self._h_before = _as_tensor(self.before[0])
    return self._h_before

  def outputs(self) -> tf.Tensor:
    """`[time, batch, units]`: h after each step."""
    return tf.concat([self.h_before()[1:], self.final[0][None]], axis=0)


def _forward_loop(cell: Cell, projected: tf.Tensor, initial: State,
                  unroll: bool) -> _History:

  def body(inputs_t, state):
    step_inputs = cell.step_inputs(inputs_t[0], cell.inner(state[0]))
    new_state = tuple(cell.forward(*step_inputs, state, *cell.params))
    return new_state, (step_inputs[-1],) + state

  num_steps = projected.shape[0]  # A Python int when static.
  if num_steps is None:
    num_steps = tf.shape(projected)[0]
  shapes = [_saved_shape(cell, projected, initial[0])]
  shapes += [state.shape for state in initial]
  final, (saved, *before) = _scan(body, (projected,), initial, shapes,
                                  num_steps=num_steps, unroll=unroll)
  return _History(final, saved, tuple(before), num_steps, unroll)


def _backward_loop(cell: Cell, projected: tf.Tensor, history: _History,
                   d_final: State, d_outputs: tf.Tensor | None
                   ) -> list[tf.Tensor]:
  """Gradients w.r.t. `(projected, u, [bias], *params, *initial)`."""
  num_states = len(d_final)
  u_transposed = _transposed_for_matmul(cell.u)
  sequences = (history.saved,) + history.before
  if not cell.additive:
    sequences += (projected,)
  if d_outputs is not None:
    sequences += (d_outputs,)

  def body(inputs_t, carry):
    d_state, d_params = carry
    saved, previous = inputs_t[0], inputs_t[1:1 + num_states]
    rest = inputs_t[1 + num_states:]
    step_inputs = (saved,) if cell.additive else (rest[0], saved)
    if d_outputs is not None:
      d_state = (d_state[0] + rest[-1],) + tuple(d_state[1:])
    d_step_inputs, d_direct, d_params_t = cell.vjp(
        step_inputs, previous, d_state)
    d_inner = d_step_inputs[-1]
    d_previous = (_add(tf.matmul(d_inner, u_transposed), d_direct[0]),)
    d_previous += tuple(tf.zeros_like(s) if d is None else d
                        for s, d in zip(previous[1:], d_direct[1:]))
    d_params = tuple(a + b for a, b in zip(d_params, d_params_t))
    outputs = (d_inner,) if cell.additive else (d_inner, d_step_inputs[0])
    return (d_previous, d_params), outputs

  shapes = [_saved_shape(cell, projected, d_final[0])]
  if not cell.additive:
    shapes.append(projected.shape[1:])
  zero_params = tuple(tf.zeros_like(p) for p in cell.params)
  (d_initial, d_params), d_sequences = _scan(
      body, sequences, (d_final, zero_params), shapes,
      num_steps=history.num_steps, unroll=history.unroll, reverse=True)
  d_inner = _as_tensor(d_sequences[0])
  d_projected = d_inner if cell.additive else _as_tensor(d_sequences[1])
  h_before = history.h_before()
  d_u = tf.matmul(tf.reshape(h_before, [-1, h_before.shape[-1]]),
                  tf.reshape(d_inner, [-1, d_inner.shape[-1]]),
                  transpose_a=True)
  grads = [d_projected, d_u]
  if cell.recurrent_bias is not None:
    grads.append(tf.reduce_sum(d_inner, axis=[0, 1]))
  return grads + list(d_params) + list(d_initial)


def _transposed_for_matmul(matrix: tf.Tensor) -> tf.Tensor:
  """`matrix^T`, materialized once for many small matmuls.

  On CPU a small `matmul(a, b, transpose_b=True)` runs ~1.7x slower than
  `matmul(a, b^T)` with `b^T` computed up front, but Grappler folds a plain
  2-D transpose back into `transpose_b`; transposing a 3-D view hides it.
  """
  rows, cols = matrix.shape
  return tf.reshape(tf.transpose(matrix[None], [0, 2, 1]), [cols, rows])


def _add(a: tf.Tensor, b: tf.Tensor | None) -> tf.Tensor:
  return a if b is None else a + b


def _saved_shape(cell: Cell, projected: tf.Tensor, h: tf.Tensor
                 ) -> tf.TensorShape:
  """Shape of one step's saved tensor: gates (additive) or inner."""
  if cell.additive:
    return projected.shape[1:]
  return h.shape[:-1].concatenate(cell.u.shape[-1:])


def _scan(body: Callable, sequences: Sequence[Steps], carry: Any,
          output_shapes: Sequence[tf.TensorShape], *, num_steps: Any,
          unroll: bool, reverse: bool = False) -> tuple[Any, tuple[Steps]]:
  """Runs `body(inputs_t, carry) -> (carry, outputs_t)` over time.

  `sequences` are read one step at a time. Each output comes back as
  `Steps` indexed by step (also when `reverse`): a list when `unroll`, else
  a TensorArray of `output_shapes` and the dtype of `carry`.
  """
  if unroll:
    return _unrolled_scan(body, sequences, carry, num_steps, reverse)
  return _chunked_scan(body, sequences, carry, output_shapes, num_steps,
                       reverse)


def _unrolled_scan(body: Callable, sequences: Sequence[Steps], carry: Any,
                   num_steps: int, reverse: bool
                   ) -> tuple[Any, tuple[list[tf.Tensor], ...]]:
  steps = [s if isinstance(s, list) else tf.unstack(s, num_steps)
           for s in sequences]
  per_step = [None] * num_steps
  for t in (reversed(range(num_steps)) if reverse else range(num_steps)):
    carry, per_step[t] = body(tuple(s[t] for s in steps), carry)
  return carry, tuple(list(parts) for parts in zip(*per_step))


def _chunked_scan(body: Callable, sequences: Sequence[Steps], carry: Any,
                  output_shapes: Sequence[tf.TensorShape], num_steps: Any,
                  reverse: bool) -> tuple[Any, tuple[tf.TensorArray, ...]]:
  """A while loop over chunks of `LOOP_CHUNK` unrolled steps, then the rest.

  Each while iteration costs a few control-flow ops per loop variable, about
  as much as the step itself; unrolling a few steps per iteration amortizes
  them without the trace time of unrolling everything. Tensor sequences are
  read by gathering (nothing differentiates this loop automatically, so no
  TensorArray is needed for them), TensorArrays element by element.
  """
  dtype = tf.nest.flatten(carry)[0].dtype
  # clear_after_read=False: eager TensorArrays are read twice (step, stack).
  arrays = tuple(tf.TensorArray(dtype, size=num_steps, element_shape=shape,
                                clear_after_read=False)
                 for shape in output_shapes)
  num_chunks = num_steps // LOOP_CHUNK
  head_steps = num_chunks * LOOP_CHUNK
  chunked = [s if isinstance(s, tf.TensorArray)
             else _split_into_chunks(s, num_chunks, head_steps)
             for s in sequences]

  def chunk_body(chunk, carry, arrays):
    first = chunk * LOOP_CHUNK
    indices = [first + k for k in range(LOOP_CHUNK)]
    inputs = [[s.read(i) for i in indices] if isinstance(s, tf.TensorArray)
              else tf.unstack(tf.gather(s, chunk), LOOP_CHUNK)
              for s in chunked]
    carry, outputs = _unrolled_scan(body, inputs, carry, LOOP_CHUNK, reverse)
    for k, index in enumerate(indices):  # Single writes beat stack+scatter.
      arrays = tuple(a.write(index, o[k]) for a, o in zip(arrays, outputs))
    return carry, arrays

  def step_body(t, carry, arrays):
    inputs = tuple(s.read(t) if isinstance(s, tf.TensorArray)
                   else tf.gather(s, t) for s in sequences)
    carry, outputs = body(inputs, carry)
    return carry, tuple(a.write(t, o) for a, o in zip(arrays, outputs))

  # A static tail (num_steps an int) is unrolled; the chunks never are.
  parts = [(chunk_body, 0, num_chunks, False),
           (step_body, head_steps, num_steps, isinstance(num_steps, int))]
  for fn, start, stop, unroll in (reversed(parts) if reverse else parts):
    carry, arrays = _index_loop(fn, start, stop, carry, arrays,
                                reverse=reverse, unroll=unroll)
  for array in arrays:  # Read only if a gradient is taken; TF logs unread.
    getattr(array, "mark_used", lambda: None)()
  return carry, arrays


def _split_into_chunks(sequence: tf.Tensor, num_chunks: Any,
                       head_steps: Any) -> tf.Tensor:
  """The first `head_steps` steps as `[num_chunks, LOOP_CHUNK, ...]`."""
  head = tf.reshape(sequence[:head_steps], tf.concat(
      [[num_chunks, LOOP_CHUNK], tf.shape(sequence)[1:]], axis=0))
  return _with_static_shape(
      head, [None, LOOP_CHUNK] + sequence.shape[1:].as_list())


def _with_static_shape(tensor: tf.Tensor, shape) -> tf.Tensor:
  """`tensor` with its static shape set, without a runtime op.

  Unlike `tf.ensure_shape` this adds no EnsureShape op, which TFLite's
  converter lacks, so recurrent models convert to TFLite.
  """
  tensor = tf.identity(tensor)
  tensor.set_shape(shape)
  return tensor


def _index_loop(fn: Callable, start: Any, stop: Any, carry: Any,
                arrays: tuple[tf.TensorArray, ...], *, reverse: bool,
                unroll: bool) -> tuple[Any, tuple[tf.TensorArray, ...]]:
  """`carry, arrays = fn(index, carry, arrays)` for index in [start, stop),
  descending if `reverse`; in Python if `unroll` (bounds must be ints)."""
  if unroll:
    indices = range(start, stop)
    for index in (reversed(indices) if reverse else indices):
      carry, arrays = fn(index, carry, arrays)
    return carry, arrays
  count = stop - start

  def loop_body(i, carry, arrays):
    index = stop - 1 - i if reverse else start + i
    carry, arrays = fn(index, carry, arrays)
    return i + 1, carry, arrays

  _, carry, arrays = tf.while_loop(
      lambda i, *_: i < count, loop_body, (tf.constant(0), carry, arrays),
      maximum_iterations=count)
  return carry, arrays


# -- the layers -------------------------------------------------------------


class RecurrentBase(Module):
  """Shared machinery of SimpleRNN, LSTM and GRU.

  Subclasses set `num_gates` and `state_size` (number of `[batch, units]`
  state tensors) and implement `_cell()` (the step, reading the variables
  once per call); they may override `_initial_bias(dtype)` and
  `_input_bias()` (the part of `b` added to the input projection).
  """

  num_gates = 1
  state_size = 1

  def __init__(self, units: int, *, activation: Any = "tanh",
               use_bias: bool = True, return_sequences: bool = False,
               go_backwards: bool = False,
               kernel_initializer: Any = "glorot_uniform",
               recurrent_initializer: Any = "orthogonal",
               bias_initializer: Any = "zeros", unroll: bool | str = "auto",
               name: str | None = None, trainable: bool = True,
               **cell_config: Any):
    super().__init__(name=name, trainable=trainable)
    kind = type(self).__name__
    if (isinstance(units, bool) or not isinstance(units, numbers.Integral)
        or units < 1):
      raise ValueError(f"{kind}: units must be an int >= 1, got {units!r}.")
    units = int(units)
    if unroll not in (True, False, "auto"):
      raise ValueError(
          f"{kind}: unroll must be True, False or 'auto', got {unroll!r}.")
    self._config = dict(
        units=units, activation=activation, use_bias=use_bias,
        return_sequences=return_sequences, go_backwards=go_backwards,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        bias_initializer=bias_initializer, unroll=unroll, name=name,
        trainable=trainable, **cell_config)
    self.units = units
    self.activation = activations.get(activation)
    self.use_bias = bool(use_bias)
    self.return_sequences = bool(return_sequences)
    self.go_backwards = bool(go_backwards)
    self.unroll = unroll
    self._kernel_init = initializers.get(kernel_initializer)
    self._recurrent_init = initializers.get(recurrent_initializer)
    self._bias_init = initializers.get(bias_initializer)

  # -- configuration ----------------------------------------------------

  def get_config(self) -> dict[str, Any]:
    """The constructor arguments this layer was created with."""
    return dict(self._config)

  def clone(self, **overrides: Any) -> RecurrentBase:
    """A fresh, unbuilt layer with this config, updated by `overrides`.

    Example: `lstm.clone(go_backwards=True, name="backward_lstm")`.

    Raises:
      TypeError: an override is not a constructor argument.
    """
    unknown = sorted(set(overrides) - set(self._config))
    if unknown:
      raise TypeError(
          f"{type(self).__name__}.clone: unknown arguments {unknown}; use "
          f"some of {sorted(self._config)}.")
    return type(self)(**{**self._config, **overrides})

  # -- state and variables ----------------------------------------------

  def initial_state(self, batch_size: int | tf.Tensor,
                    dtype: tf.DType | None = None) -> State:
    """Zero state: a tuple of `state_size` tensors `[batch_size, units]`.

    Args:
      batch_size: a Python int or a scalar int tensor.
      dtype: defaults to the variables' dtype once built, else float32.
    """
    if dtype is None:
      dtype = self.w.dtype if self.built else tf.float32
    return tuple(tf.zeros(tf.stack([batch_size, self.units]), dtype)
                 for _ in range(self.state_size))

  def _build(self, inputs: tf.Tensor) -> None:
    inputs = tf.convert_to_tensor(inputs)
    self._check_rank(inputs)
    features = inputs.shape[-1]
    if features is None:
      raise ValueError(
          f"{self.name}: the features dimension (last) must be static at "
          f"build time, got input shape {inputs.shape}; give the input a "
          "known last dimension (e.g. tf.TensorSpec([None, None, 8])).")
    if not inputs.dtype.is_floating:
      raise TypeError(
          f"{self.name}: inputs must be floating point, got "
          f"{inputs.dtype.name}; cast them (tf.cast(x, tf.float32)) or embed "
          "token ids first.")
    dtype, width = inputs.dtype, self.num_gates * self.units
    self.w = tf.Variable(self._kernel_init([features, width], dtype),
                         name="w")
    self.u = tf.Variable(self._recurrent_init([self.units, width], dtype),
                         name="u")
    if self.use_bias:
      self.b = tf.Variable(self._initial_bias(dtype), name="b")

  def _initial_bias(self, dtype: tf.DType) -> tf.Tensor:
    return self._bias_init([self.num_gates * self.units], dtype)

  def _input_bias(self) -> tf.Tensor | None:
    return self.b if self.use_bias else None

  def _cell(self) -> Cell:
    raise NotImplementedError

  # -- call ---------------------------------------------------------------

  @tf.autograph.experimental.do_not_convert
  def __call__(self, inputs: tf.Tensor,
               initial_state: Sequence[tf.Tensor] | None = None,
               training: bool = False) -> tf.Tensor:
    """Runs the layer over `[batch, time, features]` inputs.

    Args:
      inputs: a floating tensor `[batch, time, features]`; time may be None.
      initial_state: optional tuple of `state_size` tensors
        `[batch, units]`; zeros by default.
      training: unused (no dropout); accepted for a uniform call signature.

    Returns:
      `[batch, time, units]` if `return_sequences` (in processing order,
      i.e. reversed in time when `go_backwards`), else `[batch, units]`.

    Raises:
      ValueError: inputs are not rank 3, have another number of features
        than at build time, or initial_state has the wrong length.
      TypeError: inputs have another dtype than the variables.
    """
    del training  # No dropout here.
    if self.compute_dtype is not None:
      # Mixed precision: the recurrence runs in float32 (the fused gradient
      # is written for it); only the output goes back to the compute dtype.
      inputs = mixed_precision.cast_floating(inputs, tf.float32)
    self._build_once(inputs)
    inputs = tf.convert_to_tensor(inputs)
    self._check_inputs(inputs)
    state = self._initial_state_for(inputs, initial_state)
    projected = self._project_all_timesteps(inputs)
    sequence, final = run_time_loop(
        self._cell(), projected, state,
        unroll=self._should_unroll(projected.shape[0]),
        return_sequences=self.return_sequences)
    output = (tf.transpose(sequence, [1, 0, 2]) if self.return_sequences
              else final[0])
    if self.compute_dtype is not None:
      output = tf.cast(output, self.compute_dtype)
    return output

  def _project_all_timesteps(self, inputs: tf.Tensor) -> tf.Tensor:
    """`inputs @ w + input_bias`, time-major, in processing order."""
    time_major = tf.transpose(inputs, [1, 0, 2])
    if self.go_backwards:
      time_major = tf.reverse(time_major, axis=[0])
    dynamic_shape = tf.shape(time_major)
    flat = tf.reshape(time_major, [-1, inputs.shape[-1]])
    projected = tf.matmul(flat, self.w)
    bias = self._input_bias()
    if bias is not None:
      projected = tf.nn.bias_add(projected, bias)
    projected = tf.reshape(
        projected, tf.stack([dynamic_shape[0], dynamic_shape[1], -1]))
    return _with_static_shape(
        projected, time_major.shape[:2].concatenate(self.w.shape[-1:]))

  def _should_unroll(self, num_steps: int | None) -> bool:
    if self.unroll == "auto":
      return num_steps is not None and num_steps <= MAX_AUTO_UNROLL
    if self.unroll and num_steps is None:
      raise ValueError(
          f"{self.name}: unroll=True needs a static time dimension, got "
          "None; use unroll='auto' or False for variable-length inputs.")
    return bool(self.unroll)

  def _check_rank(self, inputs: tf.Tensor) -> None:
    if inputs.shape.rank != 3:
      raise ValueError(
          f"{self.name}: inputs must be [batch, time, features], got shape "
          f"{inputs.shape}; add a features axis (x[..., None]) for a "
          "univariate series.")

  def _check_inputs(self, inputs: tf.Tensor) -> None:
    self._check_rank(inputs)
    if inputs.dtype != self.w.dtype:
      raise TypeError(
          f"{self.name}: inputs are {inputs.dtype.name} but the layer was "
          f"built for {self.w.dtype.name}; cast the inputs to "
          f"{self.w.dtype.name}.")
    if inputs.shape[1] == 0:
      raise ValueError(
          f"{self.name}: inputs have no timesteps (shape {inputs.shape}); "
          "feed sequences of length >= 1.")
    features = self.w.shape[0]
    if inputs.shape[-1] is not None and inputs.shape[-1] != features:
      raise ValueError(
          f"{self.name}: inputs have {inputs.shape[-1]} features but the "
          f"layer was built for {features} (shape {inputs.shape}); feed the "
          "same number of features on every call.")

  def _initial_state_for(self, inputs: tf.Tensor,
                         given: Sequence[tf.Tensor] | None) -> State:
    if given is None:
      batch_size = inputs.shape[0] or tf.shape(inputs)[0]
      return self.initial_state(batch_size, inputs.dtype)
    state = tuple(tf.convert_to_tensor(s, inputs.dtype) for s in given)
    if len(state) != self.state_size:
      raise ValueError(
          f"{self.name}: initial_state needs {self.state_size} tensors "
          f"[batch, {self.units}], got {len(state)}.")
    return state


class SimpleRNN(RecurrentBase):
  """Fully-connected RNN: `h_t = activation(x_t w + b + h_{t-1} u)`.

  Matches `keras.layers.SimpleRNN` (same weights, same outputs).

  Args:
    units: size of the state and output.
    activation: name or callable, "tanh" by default.
    use_bias: add the bias `b` `[units]`.
    return_sequences: return every step's output, not just the last.
    go_backwards: process the sequence reversed (outputs stay reversed).
    kernel_initializer, recurrent_initializer, bias_initializer: names (see
      `engine.initializers`) or callables `(shape, dtype) -> tensor`.
    unroll: "auto" (unroll static sequences up to `MAX_AUTO_UNROLL` steps),
      True or False.
    name: module name.
    trainable: False freezes the layer.

  Example:

    rnn = SimpleRNN(40, return_sequences=True)
    y = rnn(tf.zeros([8, 20, 1]))  # [8, 20, 40]
  """

  def __init__(self, units: int, activation: Any = "tanh",
               use_bias: bool = True, return_sequences: bool = False,
               go_backwards: bool = False,
               kernel_initializer: Any = "glorot_uniform",
               recurrent_initializer: Any = "orthogonal",
               bias_initializer: Any = "zeros", unroll: bool | str = "auto",
               name: str | None = None, trainable: bool = True):
    super().__init__(
        units, activation=activation, use_bias=use_bias,
        return_sequences=return_sequences, go_backwards=go_backwards,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        bias_initializer=bias_initializer, unroll=unroll, name=name,
        trainable=trainable)

  def _cell(self) -> Cell:
    act = self.activation
    act_grad = _grad_from_output(act)

    def forward(gates, state):
      return (act(gates),)

    def backward(step_inputs, previous, d_new):
      return (act_grad(act(step_inputs[0]), d_new[0]),), (None,), ()

    return Cell(forward, u=tf.convert_to_tensor(self.u),
                backward=backward if act_grad else None)


class LSTM(RecurrentBase):
  """Long short-term memory layer, Keras 3's gates (i, f, c, o).

  `z = x_t w + h u + b`, split into i, f, c~, o:
  `c = sig(f) * c + sig(i) * act(c~)`, `h = sig(o) * act(c)`, where
  `sig` is `recurrent_activation` and `act` is `activation`. The state is
  `(h, c)`. Matches `keras.layers.LSTM`.

  Args:
    units: size of the state and output.
    activation: "tanh" by default.
    recurrent_activation: "sigmoid" by default.
    use_bias: add the bias `b` `[4 * units]`.
    unit_forget_bias: initialize the forget gate's bias to 1 (as Keras).
    return_sequences, go_backwards, kernel_initializer,
    recurrent_initializer, bias_initializer, unroll, name, trainable: as in
      `SimpleRNN`.

  Example:

    lstm = LSTM(64)
    y = lstm(tf.zeros([32, 120, 16]))  # [32, 64], via tf.while_loop
  """

  num_gates = 4
  state_size = 2

  def __init__(self, units: int, activation: Any = "tanh",
               recurrent_activation: Any = "sigmoid", use_bias: bool = True,
               unit_forget_bias: bool = True,
               return_sequences: bool = False, go_backwards: bool = False,
               kernel_initializer: Any = "glorot_uniform",
               recurrent_initializer: Any = "orthogonal",
               bias_initializer: Any = "zeros", unroll: bool | str = "auto",
               name: str | None = None, trainable: bool = True):
    super().__init__(
        units, activation=activation, use_bias=use_bias,
        return_sequences=return_sequences, go_backwards=go_backwards,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        bias_initializer=bias_initializer, unroll=unroll, name=name,
        trainable=trainable, recurrent_activation=recurrent_activation,
        unit_forget_bias=unit_forget_bias)
    self.recurrent_activation = activations.get(recurrent_activation)
    self.unit_forget_bias = bool(unit_forget_bias)

  def _initial_bias(self, dtype: tf.DType) -> tf.Tensor:
    if not self.unit_forget_bias:
      return super()._initial_bias(dtype)
    units = self.units
    return tf.concat([self._bias_init([units], dtype), tf.ones([units], dtype),
                      self._bias_init([2 * units], dtype)], axis=0)

  def _cell(self) -> Cell:
    act, gate = self.activation, self.recurrent_activation
    act_grad, gate_grad = _grad_from_output(act), _grad_from_output(gate)

    def forward(gates, state):
      i, f, candidate, o = tf.split(gates, 4, axis=-1)
      c = gate(f) * state[1] + gate(i) * act(candidate)
      return gate(o) * act(c), c

    def backward(step_inputs, previous, d_new):
      i, f, candidate, o = tf.split(step_inputs[0], 4, axis=-1)
      i, f, candidate, o = gate(i), gate(f), act(candidate), gate(o)
      c_previous = previous[1]
      act_c = act(f * c_previous + i * candidate)
      d_h, d_c = d_new
      d_c += act_grad(act_c, d_h * o)
      d_gates = tf.concat([gate_grad(i, d_c * candidate),
                           gate_grad(f, d_c * c_previous),
                           act_grad(candidate, d_c * i),
                           gate_grad(o, d_h * act_c)], axis=-1)
      return (d_gates,), (None, d_c * f), ()

    return Cell(forward, u=tf.convert_to_tensor(self.u),
                backward=backward if act_grad and gate_grad else None)


class GRU(RecurrentBase):
  """Gated recurrent unit, Keras 3's gates (z, r, h) and `reset_after`.

  With `reset_after=True` (default) the reset gate multiplies the recurrent
  projection, `hh = act(x_h + r * (h u_h + b_rec_h))`, and the bias is
  `[2, 3 * units]` (input bias, recurrent bias). With `reset_after=False`
  it multiplies the state before the matmul, `hh = act(x_h + (r * h) u_h)`,
  and the bias is `[3 * units]`. Then `h = z * h + (1 - z) * hh`. Matches
  `keras.layers.GRU`.

  Args:
    units: size of the state and output.
    activation: "tanh" by default.
    recurrent_activation: "sigmoid" by default.
    use_bias: add the bias `b`.
    reset_after: see above; True is Keras 3's default (and CuDNN's).
    return_sequences, go_backwards, kernel_initializer,
    recurrent_initializer, bias_initializer, unroll, name, trainable: as in
      `SimpleRNN`.

  Example:

    gru = GRU(32)
    y = gru(tf.zeros([16, 50, 8]))  # [16, 32]
  """

  num_gates = 3

  def __init__(self, units: int, activation: Any = "tanh",
               recurrent_activation: Any = "sigmoid", use_bias: bool = True,
               return_sequences: bool = False, go_backwards: bool = False,
               kernel_initializer: Any = "glorot_uniform",
               recurrent_initializer: Any = "orthogonal",
               bias_initializer: Any = "zeros", unroll: bool | str = "auto",
               reset_after: bool = True, name: str | None = None,
               trainable: bool = True):
    super().__init__(
        units, activation=activation, use_bias=use_bias,
        return_sequences=return_sequences, go_backwards=go_backwards,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        bias_initializer=bias_initializer, unroll=unroll, name=name,
        trainable=trainable, recurrent_activation=recurrent_activation,
        reset_after=reset_after)
    self.recurrent_activation = activations.get(recurrent_activation)
    self.reset_after = bool(reset_after)

  def _initial_bias(self, dtype: tf.DType) -> tf.Tensor:
    width = 3 * self.units
    shape = [2, width] if self.reset_after else [width]
    return self._bias_init(shape, dtype)

  def _input_bias(self) -> tf.Tensor | None:
    if not self.use_bias:
      return None
    return self.b[0] if self.reset_after else self.b

  def _cell(self) -> Cell:
    if self.reset_after:
      return self._reset_after_cell()
    return self._reset_before_cell()

  def _reset_after_cell(self) -> Cell:
    units, act, gate = self.units, self.activation, self.recurrent_activation
    act_grad, gate_grad = _grad_from_output(act), _grad_from_output(gate)

    def gates_and_candidate(x_t, inner):
      x_zr, x_h = tf.split(x_t, [2 * units, units], axis=-1)
      inner_zr, inner_h = tf.split(inner, [2 * units, units], axis=-1)
      zr = gate(x_zr + inner_zr)
      z, r = tf.split(zr, 2, axis=-1)
      return zr, z, r, inner_h, act(x_h + r * inner_h)

    def forward(x_t, inner, state):
      _, z, _, _, candidate = gates_and_candidate(x_t, inner)
      return (z * state[0] + (1 - z) * candidate,)

    def backward(step_inputs, previous, d_new):
      zr, z, r, inner_h, candidate = gates_and_candidate(*step_inputs)
      h, d_h = previous[0], d_new[0]
      d_candidate = act_grad(candidate, d_h * (1 - z))
      d_zr = gate_grad(zr, tf.concat(
          [d_h * (h - candidate), d_candidate * inner_h], axis=-1))
      d_x = tf.concat([d_zr, d_candidate], axis=-1)
      d_inner = tf.concat([d_zr, d_candidate * r], axis=-1)
      return (d_x, d_inner), (d_h * z,), ()

    return Cell(forward, u=tf.convert_to_tensor(self.u),
                backward=backward if act_grad and gate_grad else None,
                recurrent_bias=self.b[1] if self.use_bias else None,
                additive=False)

  def _reset_before_cell(self) -> Cell:
    units, act, gate = self.units, self.activation, self.recurrent_activation
    u_zr, u_h = tf.split(tf.convert_to_tensor(self.u), [2 * units, units],
                         axis=-1)

    def forward(x_t, inner_zr, state, u_h):
      h = state[0]
      x_zr, x_h = tf.split(x_t, [2 * units, units], axis=-1)
      z, r = tf.split(gate(x_zr + inner_zr), 2, axis=-1)
      candidate = act(x_h + tf.matmul(r * h, u_h))
      return (z * h + (1 - z) * candidate,)

    # Rare variant: its gradient goes through a GradientTape per step.
    return Cell(forward, u=u_zr, params=(u_h,), additive=False)
