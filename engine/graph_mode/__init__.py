"""The course's TensorFlow basics in `tf.compat.v1` graph/Session mode.

Every program here builds into an explicit `tf.Graph` and runs in a
`tf.compat.v1.Session` on it; eager execution is never disabled, so TF2 code
keeps working in the same process. One concept per module:

  session_run           Session.run with the two classic failures as one line
  graph_inspection      op names, output tensors, `_1`/`_2` copies
  first_steps           placeholder, get_variable, Variable, constant, x @ w
  failures              the two classic mistakes, made on purpose
  optimize_square       GradientDescentOptimizer on f = x**2
  variable_selection    trainable_variables, var_list, trainable=False
  regression_data       the synthetic data both regression runs share
  linear_regression     graph-mode regression with summaries
  summary_writing       FileWriter that also writes the graph
  checkpoints           Saver rotation, restore-and-continue, mismatch check
  tf2_linear_regression the same regression in TF2 (import it directly; it
                        needs engine.optimizers)
"""

from engine.graph_mode.checkpoints import check_checkpoint_matches
from engine.graph_mode.checkpoints import CheckpointedRun
from engine.graph_mode.checkpoints import fit_with_checkpoints
from engine.graph_mode.checkpoints import restore_and_continue
from engine.graph_mode.failures import classic_failure_messages
from engine.graph_mode.first_steps import build_first_steps
from engine.graph_mode.first_steps import build_repeatedly
from engine.graph_mode.first_steps import compare_default_and_own_graph
from engine.graph_mode.first_steps import FirstStepsGraph
from engine.graph_mode.first_steps import run_in_session
from engine.graph_mode.first_steps import run_interactively
from engine.graph_mode.graph_inspection import copies_of
from engine.graph_mode.graph_inspection import operation_names
from engine.graph_mode.graph_inspection import output_tensor_names
from engine.graph_mode.linear_regression import build_linear_regression
from engine.graph_mode.linear_regression import fit_linear_regression
from engine.graph_mode.optimize_square import optimize_square
from engine.graph_mode.regression_data import make_regression_data
from engine.graph_mode.regression_data import RegressionData
from engine.graph_mode.results import LossLog
from engine.graph_mode.results import RegressionResult
from engine.graph_mode.session_run import run
from engine.graph_mode.session_run import UnfedPlaceholderError
from engine.graph_mode.session_run import UninitializedVariableError
from engine.graph_mode.variable_selection import compare_variable_selection
