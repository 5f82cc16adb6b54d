"""Runs exported models with TensorFlow alone (the tests' subprocess).

    python -I -S serving_check.py cases.json outputs.npz SITE_PACKAGES

`cases.json`: case name -> {"export_dir": ..., "calls": [{"signature": ...,
"inputs": {name: .npy path or {"files": [paths]}}}], "tflite_input": .npy path or null}. Every
output of every call is stored in outputs.npz as `<case>/<signature>/<key>`,
the TFLite interpreter's output as `<case>/tflite`. The script imports only
TensorFlow, tensorflow-text (whose import registers the ops of subword
exports, as any server of them must) and NumPy, and first checks that the
project is not importable.
It runs without `site` (-S), so the venv's .pth files (an editable install
of the project) do not apply, with only the site-packages folder given.
"""

import importlib.util
import json
import os
import sys

sys.path.append(sys.argv[3])

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  # Registers the tokenizer ops.


def check_isolated():
  for name in ("trainers", "models", "engine"):
    if importlib.util.find_spec(name) is not None:
      raise SystemExit(f"the project's {name} package is importable")


def run_tflite(path, inputs):
  interpreter = tf.lite.Interpreter(model_path=path)
  detail = interpreter.get_input_details()[0]
  interpreter.resize_tensor_input(detail["index"], inputs.shape)
  interpreter.allocate_tensors()
  interpreter.set_tensor(detail["index"], inputs.astype(detail["dtype"]))
  interpreter.invoke()
  return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def load_input(value):
  """A .npy path, or {"files": [...]}: the files' bytes as tf.string."""
  if isinstance(value, dict):
    contents = []
    for path in value["files"]:
      with open(path, "rb") as f:
        contents.append(f.read())
    return tf.constant(contents, tf.string)
  return tf.constant(np.load(value, allow_pickle=False))


def main(cases_path, out_path):
  check_isolated()
  with open(cases_path) as f:
    cases = json.load(f)
  results, exports = {}, {}
  for case, spec in cases.items():
    if spec["export_dir"] not in exports:  # Cases may share an export.
      exports[spec["export_dir"]] = tf.saved_model.load(spec["export_dir"])
    loaded = exports[spec["export_dir"]]
    for call in spec["calls"]:
      function = loaded.signatures[call["signature"]]
      inputs = {name: load_input(value)
                for name, value in call["inputs"].items()}
      for key, value in function(**inputs).items():
        results[f"{case}/{call['signature']}/{key}"] = value.numpy()
    if spec.get("tflite_input"):
      results[f"{case}/tflite"] = run_tflite(
          os.path.join(spec["export_dir"], "model.tflite"),
          np.load(spec["tflite_input"]))
  np.savez(out_path, **results)


if __name__ == "__main__":
  main(*sys.argv[1:3])
