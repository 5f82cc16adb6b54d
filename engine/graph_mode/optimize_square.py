"""Minimizing f(x) = x**2 with `GradientDescentOptimizer`, step by step.

Each step computes f'(x) = 2x and updates x <- x - lr * 2x, so after k steps
x_k = x_0 * (1 - 2 lr)**k: with lr = 0.1, x shrinks by 0.8 per step.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from engine.errors import EngineUserError
from engine.graph_mode import session_run
from engine.graph_mode import summary_writing

v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class SquareStep:
  """x and f(x) = x**2 after `step` updates."""
  step: int
  x: float
  f: float


def optimize_square(initial_x: float, num_steps: int = 10,
                    learning_rate: float = 0.1,
                    logdir: str | None = None) -> list[SquareStep]:
  """Runs `num_steps` gradient-descent steps on f(x) = x**2 in a new graph.

  Args:
    initial_x: starting value of the variable `x`.
    num_steps: updates to run (>= 1).
    learning_rate: the optimizer's step size (> 0).
    logdir: if set, scalars "square/x", "square/f" and the graph are
      written there.

  Returns:
    One SquareStep per state: step 0 (the start) to step `num_steps`.

  Raises:
    EngineUserError: num_steps < 1 or learning_rate <= 0.
  """
  _check_positive(num_steps=num_steps, learning_rate=learning_rate)
  graph = tf.Graph()
  with graph.as_default():
    x = v1.get_variable("x", shape=(), dtype=tf.float32,
                        initializer=v1.constant_initializer(initial_x))
    f = tf.square(x, name="f")
    train_op = v1.train.GradientDescentOptimizer(learning_rate).minimize(
        f, var_list=[x])
    # Not "x": a tag equal to an op name would become "x_1".
    v1.summary.scalar("square/x", x)
    v1.summary.scalar("square/f", f)
    summaries = v1.summary.merge_all()
    init = v1.global_variables_initializer()
  history = []
  with summary_writing.file_writer(logdir, graph) as writer, \
      v1.Session(graph=graph) as session:
    session_run.run(session, init)
    for step in range(num_steps + 1):
      x_value, f_value, summary = session_run.run(session, [x, f, summaries])
      history.append(SquareStep(step, float(x_value), float(f_value)))
      writer.add_summary(summary, step)
      if step < num_steps:
        session_run.run(session, train_op)
  return history


def _check_positive(**values: float) -> None:
  for name, value in values.items():
    if not value > 0:
      raise EngineUserError(
          f"{name} must be > 0, got {value!r}; pass a positive value.")
