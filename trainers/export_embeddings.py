r"""Exports a text model's word vectors for the Embedding Projector.

    python -m trainers.export_embeddings --model_dir=runs/imdb_embedding_flatten
    tensorboard --logdir runs/imdb_embedding_flatten    # Projector tab

Writes, into --output_dir (default: model_dir):

* `vecs.tsv`: one row of tab-separated floats per word, the Embedding
  table's row for that word's index (index 0, the padding, is skipped);
* `meta.tsv`: the word of each row, one per line, same order, no header (tab,
  newline and carriage return in a token are written as \t, \n, \r);
* `projector_config.pbtxt`: points TensorBoard's projector at both files.

Indices without a word (a table larger than the fitted vocabulary) are left
out, so both files always have one line per exported word.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_string("output_dir", None, "Where the files go (default: "
                    "--model_dir, so `tensorboard --logdir MODEL_DIR` shows "
                    "them).")
FLAGS = flags.FLAGS

VECTORS_FILE = "vecs.tsv"
METADATA_FILE = "meta.tsv"
PROJECTOR_CONFIG_FILE = "projector_config.pbtxt"
_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def embedding_table(model) -> np.ndarray:
  """The table of the model's first Embedding layer.

  Raises:
    UsageError: the model has no Embedding layer.
  """
  for layer in getattr(model, "layers", [model]):
    table = getattr(layer, "embeddings", None)
    if table is not None:
      return np.asarray(table.numpy())
  raise cli.UsageError(f"model {model.name!r} has no Embedding layer to "
                       "export")


def exported_rows(table_rows: int, index_word: Mapping[int, str],
                  num_words: int | None = None) -> list[tuple[int, str]]:
  """(index, word) of each exported row: 1.. up to the last usable index.

  An index is usable when the table has its row, the tokenizer has its word
  and it is below the tokenizer's num_words (ids it never emits are left
  out).
  """
  limit = table_rows if num_words is None else min(table_rows, num_words)
  return [(i, index_word[i]) for i in range(1, limit) if i in index_word]


def write_projector_files(table: np.ndarray, rows: list[tuple[int, str]],
                          output_dir: str, tensor_name: str) -> list[str]:
  """Writes vecs.tsv, meta.tsv and projector_config.pbtxt; returns paths."""
  os.makedirs(output_dir, exist_ok=True)
  vectors = os.path.join(output_dir, VECTORS_FILE)
  metadata = os.path.join(output_dir, METADATA_FILE)
  config = os.path.join(output_dir, PROJECTOR_CONFIG_FILE)
  with open(vectors, "w", encoding="utf-8") as v, \
       open(metadata, "w", encoding="utf-8") as m:
    for index, word in rows:
      v.write("\t".join(f"{x:.7g}" for x in table[index]) + "\n")
      m.write(word.translate(_ESCAPES) + "\n")
  quoted = tensor_name.replace("\\", "\\\\").replace('"', '\\"')
  with open(config, "w", encoding="utf-8") as f:
    f.write("embeddings {\n"
            f'  tensor_name: "{quoted}"\n'
            f'  tensor_path: "{VECTORS_FILE}"\n'
            f'  metadata_path: "{METADATA_FILE}"\n'
            "}\n")
  return [vectors, metadata, config]


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from trainers.common import restore
  model_dir = FLAGS.model_dir
  run = restore.restore_text_run(model_dir, "export_embeddings",
                                 "a text model")
  recipe = run.recipe
  table = embedding_table(run.trainer.model)
  tokenizer = run.encoder.tokenizer
  rows = exported_rows(table.shape[0], tokenizer.index_word,
                       tokenizer.num_words)
  paths = write_projector_files(table, rows, FLAGS.output_dir or model_dir,
                                f"{recipe.name} embedding")
  print(f"exported {len(rows)} words x {table.shape[1]} dims:")
  for path in paths:
    print(f"  {path}")
  print(f"view them: tensorboard --logdir {FLAGS.output_dir or model_dir} "
        "(Projector tab)")


if __name__ == "__main__":
  cli.run(main)
