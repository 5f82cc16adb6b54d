"""The course's basics: first models, and the TF1 graph/session programs.

* `line`: "Hello world" of the course (Introduction to TensorFlow, week 1):
  Dense(1) learns y = 2x - 1 from six points and predicts about 19 at x = 10.
* `linear_regression`: Dense(1) recovers the weights of a noisy 3-D linear
  model from 1000 samples by full-batch gradient descent.
* The TF1 basics programs (`trainers.basics --demo=...`), built into explicit
  graphs on the engine's graph/session runtime: first steps (placeholder,
  get_variable, Variable, constant, Session, InteractiveSession), the two
  classic failures, GradientDescentOptimizer on x**2 and variable selection,
  graph-mode linear regression with summaries, Saver checkpoints, and the
  regression's TF2 twin trained by the engine Trainer with engine SGD.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

import numpy as np
import tensorflow as tf

from data.bundle import DataBundle, DataInfo
from data.series.pipeline import epoch_seed
from engine import graph_mode
from engine.errors import EngineUserError
from engine.hooks import Hook
from engine.modules.dense import Dense
from engine.modules.sequential import Sequential
from engine.optimizers.sgd import SGD
from engine.trainer import Trainer
from models.registry import Recipe, register

LINE_XS = (-1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
LINE_YS = (-3.0, -1.0, 1.0, 3.0, 5.0, 7.0)
LINE_PREDICT_X = 10.0

REGRESSION_W_TRUE = (2.0, -3.4, 1.7)
REGRESSION_NOISE_SCALE = 0.2


@dataclasses.dataclass
class BasicsInfo(DataInfo):
  """What the basics bundles say: the x to predict, the true weights."""

  predict_x: float | None = None
  w_true: np.ndarray | None = None


def build_single_neuron(hparams: Mapping[str, Any]) -> Sequential:
  """One Dense unit: `x @ w + b`."""
  del hparams  # The input size comes from the first batch.
  return Sequential([Dense(1)], name="single_neuron")


def line_bundle(hparams: Mapping[str, Any]) -> DataBundle:
  """The course's six (x, 2x - 1) points; info.predict_x is 10.0.

  Args:
    hparams: `batch_size` (6 trains on all points at once, as Keras's
      default batch of 32 does) and `seed`.

  Returns:
    A DataBundle of [n, 1] features and labels, without validation data.
  """
  xs = np.array(LINE_XS, dtype=np.float32)[:, np.newaxis]
  ys = np.array(LINE_YS, dtype=np.float32)[:, np.newaxis]
  return _in_memory_bundle(xs, ys, hparams,
                           BasicsInfo(predict_x=LINE_PREDICT_X))


def regression_bundle(hparams: Mapping[str, Any]) -> DataBundle:
  """Samples x ~ N(0, 1) in D dims with targets `x @ w_true + 0.2 noise`.

  Args:
    hparams: `num_examples` (N), `num_features` (D, at most 3), `batch_size`
      and `seed` (draws both x and the noise).

  Returns:
    A DataBundle of [N, D] features and [N, 1] labels; info.w_true
    holds the true weights ([D] float32).

  Raises:
    ValueError: num_features exceeds the number of true weights.
  """
  num_features = hparams["num_features"]
  if not 1 <= num_features <= len(REGRESSION_W_TRUE):
    raise ValueError(f"num_features must be in [1, {len(REGRESSION_W_TRUE)}]"
                     f", got {num_features}")
  w_true = np.array(REGRESSION_W_TRUE[:num_features], dtype=np.float32)
  rng = np.random.RandomState(hparams["seed"])
  x = rng.randn(hparams["num_examples"], num_features).astype(np.float32)
  noise = rng.randn(hparams["num_examples"]).astype(np.float32)
  y = x @ w_true + REGRESSION_NOISE_SCALE * noise
  return _in_memory_bundle(x, y[:, np.newaxis], hparams,
                           BasicsInfo(w_true=w_true))


def _in_memory_bundle(features: np.ndarray, labels: np.ndarray,
                      hparams: Mapping[str, Any],
                      info: BasicsInfo) -> DataBundle:
  """Shuffled batches of in-memory arrays, the order fixed by (seed, epoch).

  A batch holding every example is the same in every epoch, so that one
  dataset is built once and returned for each epoch.
  """
  batch_size, seed = hparams["batch_size"], hparams["seed"]
  examples = tf.data.Dataset.from_tensor_slices((features, labels))
  full_batch = examples.batch(batch_size)

  def train(epoch: int) -> tf.data.Dataset:
    if batch_size >= len(features):
      return full_batch
    return examples.shuffle(
        len(features), seed=epoch_seed(seed, epoch),
        reshuffle_each_iteration=False).batch(batch_size)

  return DataBundle(train=train, validation=None,
                    steps_per_epoch=-(-len(features) // batch_size),
                    info=info)


LINE = register(Recipe(
    name="line",
    description="one neuron learning y = 2x - 1 from six points (course "
                "week 1, 'hello world')",
    build_model=build_single_neuron,
    make_data=line_bundle,
    loss="mse",
    optimizer="sgd",
    hparams={"learning_rate": 0.01, "batch_size": 6, "epochs": 500,
             "seed": 42},
    input_shape=lambda hparams: ((1,), "float32"),
))

LINEAR_REGRESSION = register(Recipe(
    name="linear_regression",
    description="Dense(1) recovering w_true of a noisy 3-D linear model by "
                "full-batch gradient descent",
    build_model=build_single_neuron,
    make_data=regression_bundle,
    loss="mse",
    optimizer="sgd",
    hparams={"learning_rate": 0.1, "batch_size": 1000, "epochs": 300,
             "seed": 42, "num_examples": 1000, "num_features": 3},
    input_shape=lambda hparams: ((int(hparams["num_features"]),), "float32"),
))


# == The course's TF1 basics programs ==========================================
#
# Built into explicit tf.Graphs and run with the engine's graph/session runtime
# (engine/graph_mode/), so eager TF2 keeps working in the same process. The
# TF2 twin of the regression trains through the engine Trainer and SGD.

v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class LossLog:
  """The full-batch MSE with the weights that `step` updates produced."""
  step: int
  loss: float


@dataclasses.dataclass(frozen=True)
class RegressionResult:
  """Found weights (D, 1), the logged losses, and the global step reached."""
  weights: np.ndarray
  history: list[LossLog]
  final_step: int


@dataclasses.dataclass(frozen=True)
class TF2RegressionResult(RegressionResult):
  """A RegressionResult plus the op names of the traced train step."""
  traced_ops: list[str]


@dataclasses.dataclass(frozen=True)
class RegressionData:
  """Features (N, D), targets (N, 1) and the weights (D, 1) behind them."""
  features: np.ndarray
  targets: np.ndarray
  true_weights: np.ndarray

  @property
  def num_features(self) -> int:
    """D, the number of columns of `features`."""
    return self.features.shape[1]


def make_regression_data(num_examples: int = 1000, num_features: int = 3,
                         noise_scale: float = 0.2,
                         seed: int = 0) -> RegressionData:
  """Draws x ~ N(0, 1), w ~ N(0, 1), y = x @ w + noise_scale * N(0, 1).

  All float32, from `numpy.random.RandomState(seed)`, so the graph-mode and
  TF2 runs see the same arrays.

  Raises:
    EngineUserError: a size < 1, a negative noise_scale or a bad seed.
  """
  if num_examples < 1 or num_features < 1:
    raise EngineUserError(
        f"need num_examples >= 1 and num_features >= 1, got {num_examples} "
        f"and {num_features}; pass positive sizes.")
  if noise_scale < 0:
    raise EngineUserError(
        f"noise_scale must be >= 0, got {noise_scale}; pass a std dev.")
  if not 0 <= seed < 2**32:
    raise EngineUserError(
        f"seed must be in [0, 2**32), got {seed}; pass a smaller seed.")
  rng = np.random.RandomState(seed)
  true_weights = rng.normal(size=(num_features, 1))
  features = rng.normal(size=(num_examples, num_features))
  targets = features @ true_weights + noise_scale * rng.normal(
      size=(num_examples, 1))
  return RegressionData(features.astype(np.float32),
                        targets.astype(np.float32),
                        true_weights.astype(np.float32))


# -- first steps: placeholder, get_variable, Variable, constant ----------------

@dataclasses.dataclass(frozen=True)
class FirstStepsGraph:
  """One build of `y = x @ w`, `z = x @ v + c` (see build_first_steps).

  `w` comes from `get_variable` (a rebuild in the same graph reuses it), `v`
  from `tf.Variable` (a rebuild makes `v_1`); `init` initializes them.
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

  Building adds ops and computes nothing; build twice into one graph to see
  the `_1` suffixes. `seed` is the op-level seed of the initial values.
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
  """Initializes, then evaluates "w", "v", "c", "y", "z" in a Session."""
  fetches = {"w": program.w, "v": program.v, "c": program.c,
             "y": program.y, "z": program.z}
  with v1.Session(graph=program.graph) as session:
    graph_mode.run(session, program.init)
    return graph_mode.run(session, fetches, program.feed(features))


def run_interactively(program: FirstStepsGraph,
                      features: np.ndarray) -> dict[str, np.ndarray]:
  """"y" and "z" through an InteractiveSession: `op.run()`, `tensor.eval()`.

  An InteractiveSession makes itself the default (switching eager off); it
  is closed before returning, so eager execution is on again afterwards.
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
  """Op names/counts of the default graph vs an own graph, before and after
  `reset_default_graph()` (which gives a new graph object)."""
  default_ops_after_build: list[str]
  own_ops: list[str]
  default_ops_after_own_build: int
  default_ops_after_reset: int
  reset_gave_new_graph: bool


def compare_default_and_own_graph() -> DefaultGraphReport:
  """Builds once in the default graph and once in an own graph, then resets.

  Resets first, so the counts do not depend on what ran before; eager TF2
  never uses the default graph.
  """
  v1.reset_default_graph()
  default_graph = v1.get_default_graph()
  build_first_steps(default_graph)
  default_ops = graph_mode.operation_names(default_graph)
  own = build_first_steps(tf.Graph())
  default_count = len(default_graph.get_operations())
  v1.reset_default_graph()
  new_default = v1.get_default_graph()
  return DefaultGraphReport(
      default_ops_after_build=default_ops,
      own_ops=graph_mode.operation_names(own.graph),
      default_ops_after_own_build=default_count,
      default_ops_after_reset=len(new_default.get_operations()),
      reset_gave_new_graph=new_default is not default_graph)


def build_repeatedly(times: int = 3) -> tf.Graph:
  """Builds the program `times` times into one graph, like a re-run cell."""
  graph = tf.Graph()
  for _ in range(times):
    build_first_steps(graph)
  return graph


# -- the two classic failures, made on purpose ---------------------------------

def fetch_before_initializing(program: FirstStepsGraph,
                              features: np.ndarray) -> np.ndarray:
  """Fetches `y` without running `init`: UninitializedVariableError."""
  with v1.Session(graph=program.graph) as session:
    return graph_mode.run(session, program.y, program.feed(features))


def fetch_without_feeding(program: FirstStepsGraph) -> np.ndarray:
  """Initializes, then fetches `y` with no feed_dict: UnfedPlaceholderError."""
  with v1.Session(graph=program.graph) as session:
    graph_mode.run(session, program.init)
    return graph_mode.run(session, program.y)


def classic_failure_messages(program: FirstStepsGraph,
                             features: np.ndarray) -> dict[str, str]:
  """Both mistakes' one-line messages, by "uninitialized_variable" and
  "unfed_placeholder"."""
  messages = {}
  try:
    fetch_before_initializing(program, features)
  except graph_mode.UninitializedVariableError as error:
    messages["uninitialized_variable"] = str(error)
  try:
    fetch_without_feeding(program)
  except graph_mode.UnfedPlaceholderError as error:
    messages["unfed_placeholder"] = str(error)
  return messages


# -- GradientDescentOptimizer on x**2, and which variables it updates ----------

@dataclasses.dataclass(frozen=True)
class SquareStep:
  """x and f(x) = x**2 after `step` updates."""
  step: int
  x: float
  f: float


def optimize_square(initial_x: float, num_steps: int = 10,
                    learning_rate: float = 0.1,
                    logdir: str | None = None) -> list[SquareStep]:
  """Gradient descent on f(x) = x**2: x_k = x_0 * (1 - 2 lr)**k.

  Returns step 0 (the start) to step `num_steps`; with a logdir, writes
  "square/x", "square/f" and the graph there.

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
  with graph_mode.file_writer(logdir, graph) as writer, \
      v1.Session(graph=graph) as session:
    graph_mode.run(session, init)
    for step in range(num_steps + 1):
      x_value, f_value, summary = graph_mode.run(session, [x, f, summaries])
      history.append(SquareStep(step, float(x_value), float(f_value)))
      writer.add_summary(summary, step)
      if step < num_steps:
        graph_mode.run(session, train_op)
  return history


@dataclasses.dataclass(frozen=True)
class SelectionReport:
  """Variable names, and values of a, b (trainable) and c (trainable=False)
  initially, after minimize(loss, var_list=[a]), then after minimize(loss)."""
  global_variables: list[str]
  trainable_variables: list[str]
  initial: dict[str, float]
  after_var_list_step: dict[str, float]
  after_default_step: dict[str, float]


def compare_variable_selection(learning_rate: float = 0.1) -> SelectionReport:
  """One step on a**2 + b**2 + c**2 with var_list=[a], one without."""
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
    names = ([v.op.name for v in v1.global_variables()],
             [v.op.name for v in v1.trainable_variables()])
  values = {"a": a, "b": b, "c": c}
  reports = []
  with v1.Session(graph=graph) as session:
    for op in (init, only_a, all_trainable):
      graph_mode.run(session, op)
      reports.append({k: float(v) for k, v in
                      graph_mode.run(session, values).items()})
  return SelectionReport(*names, *reports)


# -- linear regression as a graph, trained with a Session ----------------------

@dataclasses.dataclass(frozen=True)
class LinearRegressionGraph:
  """Placeholders, zero-initialized w (D, 1), MSE, train op, merged summaries
  ("regression/loss", "regression/w<i>")."""
  graph: tf.Graph
  features: tf.Tensor
  targets: tf.Tensor
  weights: tf.Variable
  loss: tf.Tensor
  train_op: tf.Operation
  global_step: tf.Variable
  summaries: tf.Tensor
  init: tf.Operation

  def feed(self, data: RegressionData) -> dict:
    """The feed_dict of the full batch."""
    if data.num_features != self.features.shape[1]:
      raise EngineUserError(
          f"the data has {data.num_features} features but the graph was built"
          f" for {self.features.shape[1]}; build it with num_features="
          f"{data.num_features}.")
    return {self.features: data.features, self.targets: data.targets}


def build_linear_regression(num_features: int,
                            learning_rate: float) -> LinearRegressionGraph:
  """Builds the regression graph in a new `tf.Graph`.

  Raises:
    EngineUserError: learning_rate <= 0 or num_features < 1.
  """
  if not learning_rate > 0 or num_features < 1:
    raise EngineUserError(
        f"need learning_rate > 0 and num_features >= 1, got {learning_rate} "
        f"and {num_features}.")
  graph = tf.Graph()
  with graph.as_default():
    features = v1.placeholder(tf.float32, (None, num_features), "features")
    targets = v1.placeholder(tf.float32, (None, 1), "targets")
    weights = v1.get_variable("w", (num_features, 1), tf.float32,
                              initializer=v1.zeros_initializer())
    predictions = tf.matmul(features, weights, name="predictions")
    loss = tf.reduce_mean(tf.square(predictions - targets), name="mse")
    global_step = v1.train.get_or_create_global_step()
    train_op = v1.train.GradientDescentOptimizer(learning_rate).minimize(
        loss, global_step=global_step)
    # Tags get their own scope: a tag equal to an op name gets a "_1".
    v1.summary.scalar("regression/loss", loss)
    for i in range(num_features):
      v1.summary.scalar(f"regression/w{i}", weights[i, 0])
    summaries = v1.summary.merge_all()
    init = v1.global_variables_initializer()
  return LinearRegressionGraph(graph, features, targets, weights, loss,
                               train_op, global_step, summaries, init)


def train_steps(session: v1.Session, model: LinearRegressionGraph,
                data: RegressionData, num_steps: int, *, writer=None,
                log_every: int = 50,
                on_log: Callable[[LossLog], None] | None = None,
                after_step: Callable[[int], None] | None = None
                ) -> list[LossLog]:
  """Runs `num_steps` full-batch updates from the session's global step.

  The run starting at global step s reports the loss after s updates. The
  loss is logged (and passed to `on_log`) at steps divisible by `log_every`
  and after the last update; `after_step` gets each new global step.
  """
  if num_steps < 1 or log_every < 1:
    raise EngineUserError(
        f"need num_steps >= 1 and log_every >= 1, got {num_steps} and "
        f"{log_every}.")
  writer = writer or graph_mode.NullWriter()
  feed = model.feed(data)
  fetches = [model.loss, model.summaries]
  log = _Logger(on_log)
  start = int(graph_mode.run(session, model.global_step))
  for step in range(start, start + num_steps):
    loss, summary, _ = graph_mode.run(session, fetches + [model.train_op],
                                      feed)
    writer.add_summary(summary, step)
    if step % log_every == 0:
      log(step, loss)
    if after_step is not None:
      after_step(step + 1)
  loss, summary = graph_mode.run(session, fetches, feed)
  writer.add_summary(summary, start + num_steps)
  log(start + num_steps, loss)
  writer.flush()
  return log.history


def fit_linear_regression(data: RegressionData, num_steps: int = 300,
                          learning_rate: float = 0.1,
                          logdir: str | None = None, log_every: int = 50,
                          on_log: Callable[[LossLog], None] | None = None
                          ) -> RegressionResult:
  """Builds, initializes and trains the graph (see `train_steps`)."""
  model = build_linear_regression(data.num_features, learning_rate)
  with graph_mode.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    graph_mode.run(session, model.init)
    history = train_steps(session, model, data, num_steps, writer=writer,
                          log_every=log_every, on_log=on_log)
    weights, step = graph_mode.run(session,
                                   [model.weights, model.global_step])
  return RegressionResult(np.asarray(weights), history, int(step))


# -- Saver: rotation, restore and continue -------------------------------------

CHECKPOINT_PREFIX = "model.ckpt"


@dataclasses.dataclass(frozen=True)
class CheckpointedRun:
  """A training run and the checkpoints its Saver kept (oldest first)."""
  result: RegressionResult
  last_checkpoints: list[str]


def fit_with_checkpoints(data: RegressionData, checkpoint_dir: str,
                         num_steps: int = 300, learning_rate: float = 0.1,
                         checkpoint_every: int = 50, max_to_keep: int = 5,
                         logdir: str | None = None, log_every: int = 50,
                         on_log: Callable[[LossLog], None] | None = None
                         ) -> CheckpointedRun:
  """Trains the regression graph, saving `model.ckpt-<step>` when the step
  divides by `checkpoint_every` and at the end; the Saver keeps the newest
  `max_to_keep`.

  Raises:
    EngineUserError: checkpoint_every or max_to_keep < 1.
  """
  if checkpoint_every < 1 or max_to_keep < 1:
    raise EngineUserError(
        f"need checkpoint_every >= 1 and max_to_keep >= 1, got "
        f"{checkpoint_every} and {max_to_keep}.")
  model = build_linear_regression(data.num_features, learning_rate)
  with model.graph.as_default():
    saver = v1.train.Saver(max_to_keep=max_to_keep)
  prefix = os.path.join(checkpoint_dir, CHECKPOINT_PREFIX)
  with graph_mode.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    graph_mode.run(session, model.init)
    last_step = int(graph_mode.run(session, model.global_step)) + num_steps

    def save(step: int) -> None:
      if step % checkpoint_every == 0 or step == last_step:
        saver.save(session, prefix, global_step=step)

    history = train_steps(session, model, data, num_steps, writer=writer,
                          log_every=log_every, on_log=on_log,
                          after_step=save)
    weights = graph_mode.run(session, model.weights)
  result = RegressionResult(np.asarray(weights), history, last_step)
  return CheckpointedRun(result, list(saver.last_checkpoints))


def restore_and_continue(data: RegressionData, checkpoint_path: str,
                         num_steps: int, learning_rate: float = 0.1,
                         logdir: str | None = None, log_every: int = 50,
                         on_log: Callable[[LossLog], None] | None = None
                         ) -> RegressionResult:
  """Restores a checkpoint into a fresh graph and trains on from its step.

  Raises:
    CheckpointMismatchError: the checkpoint is missing or does not fit the
      graph (names the variable).
  """
  model = build_linear_regression(data.num_features, learning_rate)
  graph_mode.check_checkpoint_matches(model.graph, checkpoint_path)
  with model.graph.as_default():
    saver = v1.train.Saver()
  with graph_mode.file_writer(logdir, model.graph) as writer, \
      v1.Session(graph=model.graph) as session:
    saver.restore(session, checkpoint_path)
    history = train_steps(session, model, data, num_steps, writer=writer,
                          log_every=log_every, on_log=on_log)
    weights, step = graph_mode.run(session,
                                   [model.weights, model.global_step])
  return RegressionResult(np.asarray(weights), history, int(step))


# -- the same regression in TF2, through the engine Trainer --------------------

def tf2_regression_trainer(learning_rate: float) -> Trainer:
  """Dense(1), no bias, zero weights; "mse", engine SGD, one step per loop.

  Side by side with the graph: placeholders become the dataset's element
  spec, GradientDescentOptimizer.minimize becomes the task's GradientTape
  step with engine SGD, Session.run(train_op) the compiled loop.
  """
  model = Sequential([Dense(1, use_bias=False, kernel_initializer="zeros")],
                     name="linear_regression")
  return Trainer(model, "mse", SGD(learning_rate), steps_per_loop=1,
                 print_fn=None)


def traced_op_names(trainer: Trainer, num_features: int) -> list[str]:
  """The TF2 view of "the graph": ops of the task's traced training step."""
  return [op.name for op in _traced_step(trainer, num_features)
          .graph.get_operations()]


def fit_linear_regression_tf2(data: RegressionData, num_steps: int = 300,
                              learning_rate: float = 0.1,
                              logdir: str | None = None, log_every: int = 50,
                              on_log: Callable[[LossLog], None] | None = None
                              ) -> TF2RegressionResult:
  """Trains the TF2 twin full batch, one epoch per step, like the graph.

  With a logdir, the traced step's graph and "regression/loss",
  "regression/w<i>" per step are written there, as graph mode does.

  Raises:
    EngineUserError: num_steps < 1, log_every < 1 or learning_rate <= 0.
  """
  if num_steps < 1 or log_every < 1 or not learning_rate > 0:
    raise EngineUserError(
        f"need num_steps >= 1, log_every >= 1 and learning_rate > 0, got "
        f"{num_steps}, {log_every} and {learning_rate}.")
  full_batch = tf.data.Dataset.from_tensors((data.features, data.targets))
  trainer = tf2_regression_trainer(learning_rate)
  writer = (tf.summary.create_file_writer(logdir) if logdir
            else tf.summary.create_noop_writer())
  log = _Logger(on_log)
  scalars = _RegressionScalars(writer, log, log_every)
  trainer.fit(lambda epoch: full_batch, epochs=num_steps, steps_per_epoch=1,
              hooks=[scalars])
  final_loss = trainer.evaluate(full_batch)["loss"]
  weights = trainer.model.layers[0].w.numpy()
  scalars.write(num_steps, final_loss, weights)
  log(num_steps, final_loss)
  traced = _traced_step(trainer, data.num_features)
  if logdir:
    with writer.as_default():
      tf.summary.graph(traced.graph)
  writer.close()
  return TF2RegressionResult(
      weights, log.history, trainer.steps_done,
      [op.name for op in traced.graph.get_operations()])


def _traced_step(trainer: Trainer, num_features: int):
  """The task's replica training step traced on named (features, targets)."""
  signature = [(tf.TensorSpec([None, num_features], tf.float32, "features"),
                tf.TensorSpec([None, 1], tf.float32, "targets"))]
  step = tf.function(trainer.task._replica_train_step,  # pylint: disable=protected-access
                     input_signature=signature)
  return step.get_concrete_function()


class _RegressionScalars(Hook):
  """Writes the graph-mode tags per step: the loss and weights after each
  step's updates (epoch e of the twin is update e)."""

  def __init__(self, writer, log: "_Logger", log_every: int):
    self.writer, self.log, self.log_every = writer, log, log_every
    self._weights = None

  def on_epoch_begin(self, trainer, epoch):
    self._weights = trainer.model.layers[0].w.numpy()

  def on_epoch_end(self, trainer, epoch, logs):
    self.write(epoch, logs["loss"], self._weights)
    if epoch % self.log_every == 0:
      self.log(epoch, logs["loss"])
    return False

  def write(self, step: int, loss: float, weights: np.ndarray) -> None:
    with self.writer.as_default():
      tf.summary.scalar("regression/loss", loss, step=step)
      for i, value in enumerate(weights[:, 0]):
        tf.summary.scalar(f"regression/w{i}", value, step=step)


class _Logger:
  """Collects LossLogs and passes each to `on_log` as soon as it is known."""

  def __init__(self, on_log: Callable[[LossLog], None] | None):
    self.history: list[LossLog] = []
    self.on_log = on_log

  def __call__(self, step: int, loss) -> None:
    self.history.append(LossLog(step, float(loss)))
    if self.on_log is not None:
      self.on_log(self.history[-1])


def _check_positive(**values: float) -> None:
  for name, value in values.items():
    if not value > 0:
      raise EngineUserError(
          f"{name} must be > 0, got {value!r}; pass a positive value.")
