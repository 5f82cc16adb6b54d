"""The `tf.compat.v1` graph/Session runtime.

Programs build into an explicit `tf.Graph` and run in a
`tf.compat.v1.Session` on it; eager execution is never disabled, so TF2 code
keeps working in the same process. One concept per module:

  session_run        Session.run with the two classic failures as one line
  graph_inspection   op names, output tensors, `_1`/`_2` copies
  summary_writing    a FileWriter that also writes the graph
  checkpoints        a Saver checkpoint checked against a graph, by name

The course's programs that use it live in models/basics.py.
"""

from engine.graph_mode.checkpoints import check_checkpoint_matches
from engine.graph_mode.graph_inspection import copies_of
from engine.graph_mode.graph_inspection import operation_names
from engine.graph_mode.graph_inspection import output_tensor_names
from engine.graph_mode.session_run import run
from engine.graph_mode.session_run import UnfedPlaceholderError
from engine.graph_mode.session_run import UninitializedVariableError
from engine.graph_mode.summary_writing import file_writer
from engine.graph_mode.summary_writing import NullWriter
