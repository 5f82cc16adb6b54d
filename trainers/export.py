r"""Exports a trained run as a SavedModel: `trainers.export --model_dir=D`.

    python -m trainers.export --model_dir=runs/cats_dogs_cnn [--tflite]

Reads only model_dir (config.json, the saved artifacts and the newest
checkpoint) and writes `D/export/<global step>/` (TF Serving's versioned
layout) or `--export_dir`, through a temporary folder renamed at the end; an
existing folder is never overwritten. The signatures take the model's raw
input, with the training preprocessing inside the graph (the `*Serving`
modules of models/vision.py, text.py and series.py, on engine/export.py's
`ClassifierServing`): encoded image files, sentences, a seed text, windows
or a whole series. `--tflite` also writes `model.tflite` (float32) into the
export folder for the models TFLite converts; for the others it stops with
one line naming the op, before anything is written.
"""

from __future__ import annotations

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_string("export_dir", None, "The SavedModel folder to write "
                    "(must not exist). Default: MODEL_DIR/export/<global "
                    "step>, the layout TF Serving watches.")
flags.DEFINE_bool("tflite", False, "Also write model.tflite (float32) into "
                  "the export folder.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from trainers.common.exporting import export_run
  path = export_run(FLAGS.model_dir, FLAGS.export_dir, FLAGS.tflite)
  print(f"SavedModel written to {path}"
        + (" (with model.tflite)" if FLAGS.tflite else "")
        + f"; inspect it with: saved_model_cli show --all --dir {path}")


if __name__ == "__main__":
  cli.run(main)
