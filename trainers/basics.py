r"""The course's TensorFlow basics, in tf.compat.v1 graph mode and in TF2.

    python -m trainers.basics --demo=first_steps
    python -m trainers.basics --demo=linear_regression --steps=300

Demos:
  first_steps        placeholder, get_variable, Variable, constant, x @ w;
                     default graph vs own graph, reset, op names and `_1`
                     suffixes, Session, InteractiveSession, feed_dict.
  failures           the two classic mistakes and their one-line errors.
  optimize_square    GradientDescentOptimizer(lr) on f = x**2, x and f per
                     step; trainable_variables, var_list, trainable=False.
  linear_regression  N=1000, D=3, full-batch gradient descent with
                     placeholders, summaries and a FileWriter.
  checkpoints        Saver every --checkpoint_every steps, keeping 5; restore
                     the oldest kept one into a fresh graph and continue; a
                     mismatching graph's error.
  tf2_parity         the same regression in TF2 (the engine Trainer's
                     GradientTape step, engine SGD) next to graph mode, and the traced graph.

Each demo writes TensorBoard logs under --logdir/<demo> and says where.
"""

from __future__ import annotations

import os
import tempfile

from absl import flags

from trainers.common import cli

DEMOS = ("first_steps", "failures", "optimize_square", "linear_regression",
         "checkpoints", "tf2_parity")
DEFAULT_STEPS = {"optimize_square": 10}
DEFAULT_REGRESSION_STEPS = 300
RECOVERY_TOLERANCE = 0.05
PARITY_TOLERANCE = 1e-4

flags.DEFINE_string("demo", None, f"Which demo to run, one of: "
                    f"{', '.join(DEMOS)}. Required.")
flags.DEFINE_string("logdir", os.path.join(tempfile.gettempdir(),
                                           "tfpractice", "basics"),
                    "TensorBoard logs (and checkpoints) go to "
                    "<logdir>/<demo>; view them with "
                    "`tensorboard --logdir <logdir>`.")
flags.DEFINE_integer("steps", None, "Gradient-descent steps, >= 1. Default: "
                     "10 for optimize_square, 300 for linear_regression, "
                     "checkpoints and tf2_parity; first_steps and failures "
                     "ignore it.")
flags.DEFINE_float("learning_rate", 0.1, "Gradient-descent step size, > 0.")
flags.DEFINE_integer("seed", 0, "Seed of the data and of the initial values, "
                     "0 <= seed < 2**32.")
flags.DEFINE_integer("checkpoint_every", 50, "checkpoints demo: save every "
                     "this many steps (and at the last step), >= 1.")
flags.DEFINE_integer("max_to_keep", 5, "checkpoints demo: how many of the "
                     "newest checkpoints the Saver keeps, >= 1.")
FLAGS = flags.FLAGS


def validate_flags() -> None:
  """Checks every flag value before any work starts.

  Raises:
    cli.UsageError: a value is out of range; the message names the flag.
  """
  if FLAGS.demo not in DEMOS:
    raise cli.UsageError(
        f"--demo must be one of {', '.join(DEMOS)}, got {FLAGS.demo!r}.")
  checks = [
      ("steps", FLAGS.steps is None or FLAGS.steps >= 1, ">= 1"),
      ("learning_rate", FLAGS.learning_rate > 0, "> 0"),
      ("seed", 0 <= FLAGS.seed < 2**32, "in [0, 2**32)"),
      ("checkpoint_every", FLAGS.checkpoint_every >= 1, ">= 1"),
      ("max_to_keep", FLAGS.max_to_keep >= 1, ">= 1"),
  ]
  for name, ok, rule in checks:
    if not ok:
      raise cli.UsageError(
          f"--{name} must be {rule}, got {FLAGS[name].value!r}.")


def num_steps() -> int:
  """--steps, or the demo's default."""
  if FLAGS.steps is not None:
    return FLAGS.steps
  return DEFAULT_STEPS.get(FLAGS.demo, DEFAULT_REGRESSION_STEPS)


# -- printing helpers ------------------------------------------------------

def print_title(title: str) -> None:
  """A blank line and `== title ==`."""
  print(f"\n== {title} ==")


def print_loss(log) -> None:
  """One LossLog as `step N: loss = L`."""
  print(f"  step {log.step:4d}: loss = {log.loss:.6f}")


def print_weights(found, true) -> None:
  """The found weights beside the true ones, and the largest difference."""
  print("  weight      found       true")
  for i, (f, t) in enumerate(zip(found.ravel(), true.ravel())):
    print(f"  w{i:<8d} {f:9.5f}  {t:9.5f}")
  error = float(abs(found - true).max())
  verdict = "yes" if error <= RECOVERY_TOLERANCE else "NO"
  print(f"  max |found - true| = {error:.5f} "
        f"(within {RECOVERY_TOLERANCE}: {verdict})")


def rounded(values: dict[str, float]) -> dict[str, float]:
  """The values rounded to 6 decimals, for printing float32 results."""
  return {name: round(value, 6) for name, value in values.items()}


def print_logs(where: str) -> None:
  """Where the demo's TensorBoard logs are and how to view them."""
  print(f"TensorBoard logs: {where}  (view: tensorboard --logdir {where})")


# -- demos -----------------------------------------------------------------

def demo_first_steps(logdir: str) -> None:
  """Builds, inspects and runs the first graph."""
  import numpy as np
  from engine import graph_mode
  from models import basics as programs

  program = programs.build_first_steps(seed=FLAGS.seed)
  print_title("a graph of your own: tf.Graph()")
  print(f"x = placeholder: {program.x.name} dtype={program.x.dtype.name} "
        f"shape={tuple(program.x.shape.as_list())}")
  print(f"w = get_variable('w'): {program.w.name} shape={program.w.shape}")
  print(f"v = tf.Variable(..., name='v'): {program.v.name} "
        f"shape={program.v.shape}")
  print(f"c = constant: {program.c.name}")
  print(f"y = x @ w: {program.y.name}   z = x @ v + c: {program.z.name}")
  print(f"operations ({len(program.graph.get_operations())}):")
  for name in graph_mode.operation_names(program.graph):
    print(f"  {name} -> {graph_mode.output_tensor_names(program.graph, name)}")

  features = np.random.RandomState(FLAGS.seed).rand(3, 10).astype(np.float32)
  print_title("Session.run(y, feed_dict={x: features of shape (3, 10)})")
  values = programs.run_in_session(program, features)
  print(f"c = {values['c']}")
  print(f"w =\n{values['w']}")
  print(f"y =\n{values['y']}")
  print(f"z =\n{values['z']}")
  interactive = programs.run_interactively(program, features)
  print_title("InteractiveSession: init.run(), y.eval(feed_dict=...)")
  print(f"y =\n{interactive['y']}")
  same = np.allclose(interactive["y"], values["y"])
  print("(a new session initializes w again, with the same seeded values: "
        f"equal to the Session's y: {same})")

  print_title("default graph vs a graph of your own")
  report = programs.compare_default_and_own_graph()
  print(f"default graph after building there: "
        f"{len(report.default_ops_after_build)} ops")
  print(f"own graph after building there: {len(report.own_ops)} ops; "
        f"default graph still has {report.default_ops_after_own_build} ops")
  print(f"after reset_default_graph(): {report.default_ops_after_reset} ops "
        f"(a new graph object: {report.reset_gave_new_graph})")

  print_title("building the same code 3 times into one graph")
  graph = programs.build_repeatedly(3)
  for base in ("x", "v", "c", "w"):
    print(f"  {base}: {graph_mode.copies_of(graph, base)}")
  print("  (get_variable('w') finds and reuses w; the others get _1, _2)")
  outputs = graph_mode.output_tensor_names(graph, "x_2")
  print(f"  output tensors of x_2: {outputs}")

  with graph_mode.file_writer(logdir, program.graph):
    pass
  print_logs(logdir)


def demo_failures(logdir: str) -> None:
  """Makes the two classic mistakes and prints their one-line errors."""
  import numpy as np
  from engine import graph_mode
  from models import basics as programs

  program = programs.build_first_steps(seed=FLAGS.seed)
  features = np.ones((2, 10), np.float32)
  messages = programs.classic_failure_messages(program, features)
  print_title("1. Session.run(y, feed_dict) before the initializer")
  print(f"error: {messages['uninitialized_variable']}")
  print_title("2. Session.run(y) after the initializer, without feed_dict")
  print(f"error: {messages['unfed_placeholder']}")
  with graph_mode.file_writer(logdir, program.graph):
    pass
  print_logs(logdir)


def demo_optimize_square(logdir: str) -> None:
  """GradientDescentOptimizer on x**2, then which variables it updates."""
  import numpy as np
  from models import basics as programs

  initial_x = float(np.random.RandomState(FLAGS.seed).normal())
  print_title(f"minimize f = x**2 with GradientDescentOptimizer"
              f"({FLAGS.learning_rate}), x0 = {initial_x:.6f}")
  for state in programs.optimize_square(
      initial_x, num_steps(), FLAGS.learning_rate, logdir=logdir):
    print(f"  step {state.step:3d}: x = {state.x: .6f}  f = {state.f:.6f}")

  print_title("which variables minimize() updates (loss = a**2+b**2+c**2)")
  report = programs.compare_variable_selection(FLAGS.learning_rate)
  print(f"global_variables():    {report.global_variables}")
  print(f"trainable_variables(): {report.trainable_variables}  "
        "(c has trainable=False)")
  print(f"initial:                            {rounded(report.initial)}")
  print(f"after minimize(loss, var_list=[a]): "
        f"{rounded(report.after_var_list_step)}")
  print(f"after minimize(loss):               "
        f"{rounded(report.after_default_step)}")
  print_logs(logdir)


def regression_data():
  """The course's data: N=1000, D=3, y = x @ w + 0.2 * noise, from --seed."""
  from models import basics as programs
  return programs.make_regression_data(num_examples=1000, num_features=3,
                                         noise_scale=0.2, seed=FLAGS.seed)


def demo_linear_regression(logdir: str) -> None:
  """Graph-mode linear regression with summaries."""
  from models import basics as programs

  data = regression_data()
  print_title(f"linear regression, N=1000, D=3, {num_steps()} full-batch "
              f"GradientDescent steps at {FLAGS.learning_rate}")
  result = programs.fit_linear_regression(
      data, num_steps(), FLAGS.learning_rate, logdir=logdir,
      on_log=print_loss)
  print_weights(result.weights, data.true_weights)
  print_logs(logdir)


def demo_checkpoints(logdir: str) -> None:
  """Saver rotation, restore-and-continue, and a mismatching graph."""
  from engine.errors import CheckpointMismatchError
  from models import basics as programs

  data = regression_data()
  checkpoint_dir = os.path.join(logdir, "saver")
  remove_stale_checkpoints(checkpoint_dir)
  print_title(f"train {num_steps()} steps, save every "
              f"{FLAGS.checkpoint_every}, keep {FLAGS.max_to_keep}")
  run = programs.fit_with_checkpoints(
      data, checkpoint_dir, num_steps(), FLAGS.learning_rate,
      checkpoint_every=FLAGS.checkpoint_every,
      max_to_keep=FLAGS.max_to_keep, logdir=os.path.join(logdir, "train"),
      on_log=print_loss)
  print("saver.last_checkpoints (oldest first):")
  for path in run.last_checkpoints:
    print(f"  {path}")

  chosen = run.last_checkpoints[0]
  restored_step = int(chosen.rsplit("-", 1)[1])
  more = max(run.result.final_step - restored_step, 1)
  print_title(f"restore {os.path.basename(chosen)} into a fresh graph, "
              f"train {more} more steps")
  continued = programs.restore_and_continue(
      data, chosen, more, FLAGS.learning_rate,
      logdir=os.path.join(logdir, "restored"), on_log=print_loss)
  print(f"global step: {restored_step} -> {continued.final_step}")
  print_weights(continued.weights, data.true_weights)
  if continued.final_step == run.result.final_step:
    difference = float(abs(continued.weights - run.result.weights).max())
    print(f"max |restored run - uninterrupted run| = {difference:.2e}")

  print_title("restore into a graph built for 4 features")
  wider = programs.make_regression_data(num_features=4, seed=FLAGS.seed)
  try:
    programs.restore_and_continue(wider, chosen, 1, FLAGS.learning_rate)
  except CheckpointMismatchError as error:
    print(f"error: {error}")
  print(f"checkpoints: {checkpoint_dir}")
  print_logs(logdir)


def remove_stale_checkpoints(checkpoint_dir: str) -> None:
  """Deletes an earlier run's checkpoints of this demo, so 5 means 5."""
  if not os.path.isdir(checkpoint_dir):
    return
  for name in os.listdir(checkpoint_dir):
    if name == "checkpoint" or name.startswith("model.ckpt-"):
      os.remove(os.path.join(checkpoint_dir, name))


def demo_tf2_parity(logdir: str) -> None:
  """The regression in graph mode and in TF2, same data, same weights."""
  from models import basics as programs

  data = regression_data()
  steps = num_steps()
  print_title(f"graph mode: Session, {steps} steps")
  graph_result = programs.fit_linear_regression(
      data, steps, FLAGS.learning_rate,
      logdir=os.path.join(logdir, "graph_mode"), on_log=print_loss)
  print_title(f"TF2: tf.function + GradientTape + engine SGD, {steps} steps")
  tf2_result = programs.fit_linear_regression_tf2(
      data, steps, FLAGS.learning_rate, logdir=os.path.join(logdir, "tf2"),
      on_log=print_loss)

  print_title("weights")
  print("  weight   graph mode        TF2       true")
  for i, (g, t, w) in enumerate(zip(graph_result.weights.ravel(),
                                    tf2_result.weights.ravel(),
                                    data.true_weights.ravel())):
    print(f"  w{i:<6d} {g:10.6f} {t:10.6f} {w:10.6f}")
  difference = float(abs(graph_result.weights - tf2_result.weights).max())
  verdict = "yes" if difference <= PARITY_TOLERANCE else "NO"
  print(f"  max |graph mode - TF2| = {difference:.2e} "
        f"(within {PARITY_TOLERANCE}: {verdict})")

  print_title("TF2's graph: ops of the traced train step")
  names = tf2_result.traced_ops
  print(f"{len(names)} ops: {', '.join(names)}")
  print_logs(logdir)


DEMO_FUNCTIONS = {
    "first_steps": demo_first_steps,
    "failures": demo_failures,
    "optimize_square": demo_optimize_square,
    "linear_regression": demo_linear_regression,
    "checkpoints": demo_checkpoints,
    "tf2_parity": demo_tf2_parity,
}


def main(argv: list[str]) -> None:
  """Validates the flags, then runs the chosen demo."""
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments {argv[1:]}; every input is a "
                         "--flag (see --helpfull).")
  validate_flags()
  import tensorflow as tf
  tf.get_logger().setLevel("ERROR")  # Saver's rotation logs a deprecation.
  logdir = os.path.join(FLAGS.logdir, FLAGS.demo)
  DEMO_FUNCTIONS[FLAGS.demo](logdir)


if __name__ == "__main__":
  cli.run(main)
