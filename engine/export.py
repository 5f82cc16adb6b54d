"""SavedModel and TFLite export of a `tf.Module` with serving signatures.

A SavedModel is written to a temporary sibling folder and renamed into
place, so a crash never leaves a half export, and an existing version is
never overwritten. The default layout is TF Serving's:
`<base>/<version>/saved_model.pb`, the version being the global step.
TFLite conversion uses the converter's built-in float32 ops only; a model
with an op TFLite lacks fails with one line naming the op.

Example:
  module = MyServing(model)              # a tf.Module with tf.functions
  path = write_saved_model(module, version_dir("runs/x/export", 1200),
                           {"serving_default": module.serve})
  open("model.tflite", "wb").write(tflite_model(module.predict, module))
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from typing import Mapping, Sequence

import tensorflow as tf

from engine.errors import EngineUserError

TFLITE_FILE = "model.tflite"
_TMP_PREFIX = ".tmp-export-"  # TF Serving ignores non-numeric folders.
_SELECT_OPS = re.compile(r"TF Select ops: ([^\n]+)")
_TF_OP = re.compile(r"\b(?:tf|tfl|mhlo|stablehlo)\.([A-Za-z0-9_]+)")


class ExportError(EngineUserError):
  """An export that cannot be written (existing version, unsupported op)."""


def version_dir(base_dir: str, version: int) -> str:
  """`base_dir/<version>`: the layout TF Serving watches.

  Raises:
    ExportError: a negative version.
  """
  if int(version) < 0:
    raise ExportError(f"export version must be >= 0, got {version}")
  return os.path.join(os.path.abspath(base_dir), str(int(version)))


def check_new_export_dir(export_dir: str) -> None:
  """Refuses a folder that exists already (never overwrite a version).

  Raises:
    ExportError: names the folder and the fix.
  """
  if os.path.exists(export_dir):
    raise ExportError(
        f"export folder {export_dir} exists already; an exported version is "
        f"never overwritten: remove it or pass another --export_dir")


def write_saved_model(module: tf.Module, export_dir: str,
                      signatures: Mapping[str, tf.types.experimental.
                                          ConcreteFunction],
                      extra_files: Mapping[str, bytes] | None = None) -> str:
  """Saves `module` with `signatures` to `export_dir`, atomically.

  Args:
    module: the tf.Module holding the variables, tables and functions.
    export_dir: the final folder; it must not exist.
    signatures: signature name -> concrete function (tensor dict outputs).
    extra_files: file name -> bytes written next to saved_model.pb
      (e.g. model.tflite) before the rename.

  Returns:
    The absolute export folder.

  Raises:
    ExportError: export_dir exists.
  """
  export_dir = os.path.abspath(export_dir)
  check_new_export_dir(export_dir)
  parent = os.path.dirname(export_dir)
  os.makedirs(parent, exist_ok=True)
  tmp = os.path.join(parent, f"{_TMP_PREFIX}{os.path.basename(export_dir)}"
                             f"-{os.getpid()}")
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    # Serving needs no gradients; saving the recurrent layers' custom
    # gradients would fail inside a generation loop.
    tf.saved_model.save(module, tmp, signatures=dict(signatures),
                        options=tf.saved_model.SaveOptions(
                            experimental_custom_gradients=False))
    for name, content in (extra_files or {}).items():
      with open(os.path.join(tmp, name), "wb") as f:
        f.write(content)
    check_new_export_dir(export_dir)  # Another process may have won.
    os.rename(tmp, export_dir)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return export_dir


def tflite_model(function: tf.types.experimental.ConcreteFunction,
                 module: tf.Module, model_name: str = "the model") -> bytes:
  """Converts one concrete function to a float32 TFLite flatbuffer.

  Only TFLite's built-in ops are allowed (no Flex/select TF ops), so the
  file runs on the plain TFLite interpreter.

  Args:
    function: a concrete function of numeric inputs.
    module: the tf.Module that owns its variables.
    model_name: how to name the model in the error message.

  Returns:
    The .tflite file's bytes.

  Raises:
    ExportError: the converter refused the model; names the first op it
      could not convert.
  """
  converter = tf.lite.TFLiteConverter.from_concrete_functions([function],
                                                               module)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  with _captured_stderr() as captured:
    try:
      return converter.convert()
    except Exception as error:  # The converter raises several types.
      message = str(error)
  raise ExportError(
      f"TFLite cannot convert {model_name}: "
      f"{unsupported_op(message + captured.read())} is not a TFLite "
      f"built-in op; export without --tflite (the SavedModel serves it)")


class _Captured:
  """Text written to file descriptor 2 inside `_captured_stderr`."""

  def __init__(self, stream):
    self._stream = stream
    self.text = ""

  def read(self) -> str:
    return self.text


@contextlib.contextmanager
def _captured_stderr():
  """Captures fd 2: the converter's C++ code prints pages of diagnostics."""
  fd = sys.stderr.fileno()
  saved = os.dup(fd)
  with tempfile.TemporaryFile() as stream:
    captured = _Captured(stream)
    sys.stderr.flush()
    os.dup2(stream.fileno(), fd)
    try:
      yield captured
    finally:
      sys.stderr.flush()
      os.dup2(saved, fd)
      os.close(saved)
      stream.seek(0)
      captured.text = stream.read().decode(errors="replace")


def unsupported_op(message: str) -> str:
  """The op a converter error message names first ("op X"), or a summary."""
  select = _SELECT_OPS.search(message)
  if select:
    return f"op {select.group(1).split(',')[0].strip()}"
  for line in message.splitlines():
    if "not supported" in line or "failed to legalize" in line.lower():
      match = _TF_OP.search(line)
      if match:
        return f"op {match.group(1)}"
  match = _TF_OP.search(message)
  if match:
    return f"op {match.group(1)}"
  first = next((line.strip() for line in message.splitlines()
                if line.strip()), "unknown error")
  return f"an op ({first[:120]})"


# -- serving modules shared by every domain ----------------------------------


def padded_class_names(class_names: Sequence[str], num_outputs: int
                       ) -> list[str]:
  """A name for every class id the outputs can give ("class 3" if none).

  A sigmoid output (width 1) has two classes.
  """
  count = max(2 if num_outputs == 1 else num_outputs, len(class_names))
  names = list(class_names) + [""] * (count - len(class_names))
  return [name or f"class {index}" for index, name in enumerate(names)]


class ClassifierServing(tf.Module):
  """Base of classifier serving modules: model outputs -> probabilities,
  class ids and class names (a one-output sigmoid picks class 1 at >= 0.5
  when `binary_threshold_inclusive`, as engine.classification.decode)."""

  def __init__(self, model, class_names: Sequence[str], num_outputs: int,
               binary_threshold_inclusive: bool, name: str):
    super().__init__(name=name)
    self.model = model
    self.class_name_table = tf.constant(
        padded_class_names(class_names, num_outputs), tf.string)
    self.inclusive = binary_threshold_inclusive
    self.get_class_names = tf.function(lambda: self.class_name_table,
                                       input_signature=[])

  def _outputs(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
    probabilities = self.model(inputs, training=False)
    if probabilities.shape[-1] == 1:
      positive = probabilities[:, 0]
      above = positive >= 0.5 if self.inclusive else positive > 0.5
      class_ids = tf.cast(above, tf.int64)
    else:
      class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
    return {"probabilities": probabilities, "class_ids": class_ids,
            "class_names": tf.gather(self.class_name_table, class_ids)}


class GenericServing(tf.Module):
  """The model's own input -> `outputs`, for models without a domain.

  Args:
    model: the trained model.
    input_spec: a `tf.TensorSpec` of one batch of features.
  """

  def __init__(self, model, input_spec: tf.TensorSpec):
    super().__init__(name="model_outputs")
    self.model = model
    spec = tf.TensorSpec(input_spec.shape, input_spec.dtype, name="inputs")
    self.model_input = tf.function(
        lambda inputs: self.model(inputs, training=False),
        input_signature=[spec])
    self.predict = tf.function(
        lambda inputs: {"outputs": self.model(inputs, training=False)},
        input_signature=[spec])

  def signatures(self) -> dict:
    """Signature name -> concrete function."""
    return {"serving_default": self.predict.get_concrete_function()}
