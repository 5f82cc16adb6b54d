"""Which variables an optimizer updates: trainable, var_list, trainable=False.

`minimize(loss)` updates every variable in the graph's TRAINABLE_VARIABLES
collection, the one `tf.compat.v1.trainable_variables()` lists.
`minimize(loss, var_list=[a])` updates only `a`. A variable made with
`trainable=False` (such as a step counter) is never in that collection, so
only an explicit `var_list` could make an optimizer touch it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from engine.graph_mode import session_run

v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class SelectionReport:
  """Names and values around one gradient step on a**2 + b**2 + c**2.

  Attributes:
    global_variables: every variable of the graph: a, b, c.
    trainable_variables: a, b (c was made with trainable=False).
    initial: value of each variable before any step (all 1.0).
    after_var_list_step: after one step of minimize(loss, var_list=[a]).
    after_default_step: after one more step of minimize(loss).
  """
  global_variables: list[str]
  trainable_variables: list[str]
  initial: dict[str, float]
  after_var_list_step: dict[str, float]
  after_default_step: dict[str, float]


def compare_variable_selection(learning_rate: float = 0.1) -> SelectionReport:
  """Shows which of a, b (trainable) and c (frozen) each minimize updates.

  Returns:
    A SelectionReport; with lr 0.1 an updated variable goes 1.0 -> 0.8.
  """
  graph = tf.Graph()
  with graph.as_default():
    one = v1.constant_initializer(1.0)
    a = v1.get_variable("a", shape=(), initializer=one)
    b = v1.get_variable("b", shape=(), initializer=one)
    c = v1.get_variable("c", shape=(), initializer=one, trainable=False)
    loss = tf.square(a) + tf.square(b) + tf.square(c)
    optimizer = v1.train.GradientDescentOptimizer(learning_rate)
    only_a = optimizer.minimize(loss, var_list=[a])
    all_trainable = optimizer.minimize(loss)
    init = v1.global_variables_initializer()
    names = {"global": [v.op.name for v in v1.global_variables()],
             "trainable": [v.op.name for v in v1.trainable_variables()]}
  values = {"a": a, "b": b, "c": c}
  with v1.Session(graph=graph) as session:
    session_run.run(session, init)
    initial = _as_floats(session_run.run(session, values))
    session_run.run(session, only_a)
    after_var_list = _as_floats(session_run.run(session, values))
    session_run.run(session, all_trainable)
    after_default = _as_floats(session_run.run(session, values))
  return SelectionReport(names["global"], names["trainable"], initial,
                         after_var_list, after_default)


def _as_floats(values: dict[str, np.ndarray]) -> dict[str, float]:
  return {name: float(value) for name, value in values.items()}
