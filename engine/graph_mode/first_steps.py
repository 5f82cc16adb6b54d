"""The course's first graph: placeholder, two kinds of variable, constant.

    x = tf.compat.v1.placeholder(tf.float32, (None, 10), name="x")
    w = tf.compat.v1.get_variable("w", (10, 2))     # by name, reusable
    v = tf.Variable(tf.random.uniform((10, 2)), name="v")  # always a new one
    c = tf.constant(..., name="c")
    y = x @ w
    z = x @ v + c

Building adds ops to a graph and computes nothing; a `Session` on that graph
runs them, once the variables are initialized and `x` is fed. Everything is
built inside an explicit `tf.Graph`, so eager TF2 stays on for the rest of the
process.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from engine.graph_mode import graph_inspection
from engine.graph_mode import session_run

v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class FirstStepsGraph:
  """The tensors of one build of the first-steps program.

  Attributes:
    graph: the graph they live in.
    x: float32 placeholder of shape (None, num_features).
    w: variable from `get_variable("w")`; a rebuild in the same graph reuses it.
    v: variable from `tf.Variable(..., name="v")`; a rebuild makes `v_1`.
    c: constant of shape (num_outputs,).
    y: `x @ w`.
    z: `x @ v + c`.
    init: op that initializes every global variable of the graph so far.
  """
  graph: tf.Graph
  x: tf.Tensor
  w: tf.Variable
  v: tf.Variable
  c: tf.Tensor
  y: tf.Tensor
  z: tf.Tensor
  init: tf.Operation

  def feed(self, features: np.ndarray) -> dict:
    """The feed_dict that gives `features` to the placeholder `x`."""
    return {self.x: features}


def build_first_steps(graph: tf.Graph | None = None, num_features: int = 10,
                      num_outputs: int = 2, seed: int = 0) -> FirstStepsGraph:
  """Adds the first-steps program to `graph` (a new graph if None).

  Args:
    graph: where to build; pass `tf.compat.v1.get_default_graph()` to build in
      the default graph, or build twice in one graph to see `_1` suffixes.
    num_features: columns of the placeholder `x`.
    num_outputs: columns of `w`, `v` and `c`.
    seed: op-level seed of the random initial values.

  Returns:
    The built tensors.
  """
  graph = tf.Graph() if graph is None else graph
  with graph.as_default():
    x = v1.placeholder(tf.float32, (None, num_features), name="x")
    with v1.variable_scope(v1.get_variable_scope(), reuse=v1.AUTO_REUSE):
      w = v1.get_variable(
          "w", (num_features, num_outputs), tf.float32,
          initializer=v1.random_normal_initializer(seed=seed))
    v = tf.Variable(
        tf.random.uniform((num_features, num_outputs), seed=seed + 1),
        name="v")
    c = tf.constant(np.arange(num_outputs, dtype=np.float32), name="c")
    y = x @ w
    z = x @ v + c
    init = v1.global_variables_initializer()
  return FirstStepsGraph(graph, x, w, v, c, y, z, init)


def run_in_session(program: FirstStepsGraph,
                   features: np.ndarray) -> dict[str, np.ndarray]:
  """Initializes the variables and evaluates everything with a `Session`.

  Args:
    program: the built graph.
    features: value for the placeholder `x`, shape (batch, num_features).

  Returns:
    NumPy values of "w", "v", "c", "y" and "z".
  """
  fetches = {"w": program.w, "v": program.v, "c": program.c,
             "y": program.y, "z": program.z}
  with v1.Session(graph=program.graph) as session:
    session_run.run(session, program.init)
    return session_run.run(session, fetches, program.feed(features))


def run_interactively(program: FirstStepsGraph,
                      features: np.ndarray) -> dict[str, np.ndarray]:
  """The same with an `InteractiveSession`: `op.run()`, `tensor.eval()`.

  An InteractiveSession installs itself (and its graph) as the default for
  this thread, which also switches eager execution off; it is closed before
  returning, so eager execution is on again afterwards.

  Returns:
    NumPy values of "y" and "z".
  """
  session = v1.InteractiveSession(graph=program.graph)
  try:
    program.init.run()
    feed = program.feed(features)
    return {"y": program.y.eval(feed_dict=feed),
            "z": program.z.eval(feed_dict=feed)}
  finally:
    session.close()


@dataclasses.dataclass(frozen=True)
class DefaultGraphReport:
  """What building in the default graph versus an own graph changes.

  Attributes:
    default_ops_after_build: op names of the default graph after one build.
    own_ops: op names of an own `tf.Graph` after one build there.
    default_ops_after_own_build: op count of the default graph after that.
    default_ops_after_reset: op count after `reset_default_graph()`.
    reset_gave_new_graph: `get_default_graph()` is another object after reset.
  """
  default_ops_after_build: list[str]
  own_ops: list[str]
  default_ops_after_own_build: int
  default_ops_after_reset: int
  reset_gave_new_graph: bool


def compare_default_and_own_graph() -> DefaultGraphReport:
  """Builds once in the default graph and once in an own graph, then resets.

  Starts by resetting the default graph, so the counts do not depend on what
  ran before. Eager TF2 code never uses the default graph, so it is unaffected.

  Returns:
    A DefaultGraphReport.
  """
  v1.reset_default_graph()
  default_graph = v1.get_default_graph()
  build_first_steps(default_graph)
  default_ops = graph_inspection.operation_names(default_graph)
  own = build_first_steps(tf.Graph())
  default_count = len(default_graph.get_operations())
  v1.reset_default_graph()
  new_default = v1.get_default_graph()
  return DefaultGraphReport(
      default_ops_after_build=default_ops,
      own_ops=graph_inspection.operation_names(own.graph),
      default_ops_after_own_build=default_count,
      default_ops_after_reset=len(new_default.get_operations()),
      reset_gave_new_graph=new_default is not default_graph)


def build_repeatedly(times: int = 3) -> tf.Graph:
  """Builds the program `times` times into one new graph, like a re-run cell.

  Placeholders, `tf.Variable`s, constants and matmuls get copies named
  `x_1`, `x_2`, ...; `get_variable("w")` finds the existing `w` and reuses it.

  Returns:
    The graph.
  """
  graph = tf.Graph()
  for _ in range(times):
    build_first_steps(graph)
  return graph
