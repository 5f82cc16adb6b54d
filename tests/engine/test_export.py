"""engine/export.py: atomic, never-overwriting SavedModel writes; TFLite."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from engine import export
from engine.modules.dense import Dense


class Doubler(tf.Module):
  """x -> {"y": dense(x)} with one float signature."""

  def __init__(self, unsupported_op: bool = False):
    super().__init__()
    self.dense = Dense(2)
    self.dense(tf.zeros([1, 3]))
    self.unsupported_op = unsupported_op
    self.serve = tf.function(self._serve, input_signature=[
        tf.TensorSpec([None, 3], tf.float32, name="x")])

  def _serve(self, x):
    if self.unsupported_op:
      x = tf.math.erf(x)  # No TFLite built-in.
    return {"y": self.dense(x)}


def test_version_dir_is_numbered_under_the_base(tmp_path):
  assert export.version_dir(str(tmp_path / "export"), 120) == str(
      tmp_path / "export" / "120")
  with pytest.raises(export.ExportError, match="must be >= 0"):
    export.version_dir(str(tmp_path), -1)


def test_saved_model_round_trip_and_no_temp_left(tmp_path):
  module = Doubler()
  target = tmp_path / "export" / "5"
  path = export.write_saved_model(module, str(target),
                                  {"serving_default": module.serve
                                   .get_concrete_function()},
                                  {"note.txt": b"hi"})
  assert path == str(target)
  assert os.listdir(tmp_path / "export") == ["5"]
  assert (target / "note.txt").read_bytes() == b"hi"
  loaded = tf.saved_model.load(path)
  x = tf.constant([[1.0, 2.0, 3.0]])
  np.testing.assert_allclose(
      loaded.signatures["serving_default"](x=x)["y"].numpy(),
      module.serve(x)["y"].numpy(), atol=1e-6)


def test_existing_version_is_never_overwritten(tmp_path):
  module = Doubler()
  target = tmp_path / "3"
  target.mkdir()
  (target / "keep").write_text("old")
  with pytest.raises(export.ExportError, match="exists already"):
    export.write_saved_model(module, str(target), {
        "serving_default": module.serve.get_concrete_function()})
  assert os.listdir(target) == ["keep"]


def test_failed_write_leaves_nothing(tmp_path):
  module = Doubler()
  with pytest.raises(OSError):
    export.write_saved_model(module, str(tmp_path / "1"), {
        "serving_default": module.serve.get_concrete_function()},
                             {"missing/dir/file": b""})
  assert os.listdir(tmp_path) == []


def test_tflite_matches_the_module():
  module = Doubler()
  content = export.tflite_model(module.serve.get_concrete_function(), module)
  interpreter = tf.lite.Interpreter(model_content=content)
  interpreter.allocate_tensors()
  x = np.array([[0.5, -1.0, 2.0]], np.float32)
  interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
  interpreter.invoke()
  got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
  np.testing.assert_allclose(got, module.serve(x)["y"].numpy(), atol=1e-5)


def test_tflite_error_is_one_line_naming_the_op():
  module = Doubler(unsupported_op=True)
  with pytest.raises(export.ExportError) as raised:
    export.tflite_model(module.serve.get_concrete_function(), module,
                        "model 'doubler'")
  message = str(raised.value)
  assert "\n" not in message
  assert "model 'doubler'" in message and "op Erf" in message
