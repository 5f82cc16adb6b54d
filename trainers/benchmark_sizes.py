"""`trainers.benchmark --all`: each model's reduced size and the table.

Sizes fit a 2-core CPU: real data from the shared data folder, images at
75x75 or less, at most a few hundred batches per epoch and 40 validation
batches, fewer timed epochs for the slow recurrent models. A model whose
data is not there is listed as skipped, with the reason.
"""

from __future__ import annotations

import os

_MNIST = ["--hparam=split=t10k", "--validation_split=0.2"]
_IMDB = ["--max_train_batches=150", "--max_val_batches=40"]

# model -> (data file under the data root or None, extra flags).
SIZES: dict[str, tuple[str | None, list[str]]] = {
    "line": (None, ["--bench_epochs=50"]),
    "linear_regression": (None, ["--bench_epochs=50"]),
    "series_dnn": (None, []),
    "series_rnn": (None, ["--bench_epochs=2"]),
    "series_conv_lstm": (None, ["--bench_epochs=2"]),
    "mnist_dnn": ("mnist", _MNIST + ["--max_val_batches=40"]),
    "mnist_cnn": ("mnist", _MNIST + ["--max_train_batches=100",
                                     "--max_val_batches=20",
                                     "--bench_epochs=2"]),
    "fashion_mnist_dnn": ("fashion-mnist/fashion-mnist_test_first1000.csv",
                          ["--validation_split=0.2"]),
    "fashion_mnist_cnn": ("fashion-mnist/fashion-mnist_test_first1000.csv",
                          ["--validation_split=0.2", "--bench_epochs=2"]),
    "sign_language_cnn": ("sign_mnist_train_first188.csv",
                          ["--validation_split=0.2", "--noaugment"]),
    "happy_sad_cnn": (None, "image zip: extract it with trainers.prepare "
                            "first, then --model=happy_sad_cnn --data_path"),
    "cats_dogs_cnn": (None, "image zip: extract it with trainers.prepare "
                            "first, then --model=cats_dogs_cnn --data_path"),
    "horse_human_cnn": (None, "no horse-or-human images in the data folder"),
    "rps_cnn": (None, "no rock-paper-scissors images in the data folder"),
    "bbc_embedding": ("bbc-text.csv", ["--bench_epochs=5"]),
    "imdb_embedding_flatten": ("imdb_aclImdb_train.tar.xz", _IMDB),
    "imdb_embedding_gap": ("imdb_aclImdb_train.tar.xz", _IMDB),
    "imdb_conv1d": ("imdb_aclImdb_train.tar.xz", _IMDB + ["--bench_epochs=2"]),
    "imdb_gru": ("imdb_aclImdb_train.tar.xz",
                 ["--max_train_batches=40", "--max_val_batches=10",
                  "--bench_epochs=1"]),
    "imdb_bilstm": ("imdb_aclImdb_train.tar.xz",
                    ["--max_train_batches=40", "--max_val_batches=10",
                     "--bench_epochs=1"]),
    "imdb_stacked_bilstm": ("imdb_aclImdb_train.tar.xz",
                            ["--max_train_batches=20", "--max_val_batches=5",
                             "--bench_epochs=1"]),
    "sentiment_glove": (None, "needs GloVe vectors, not in the data folder"),
    "sonnets_generator": ("sonnets.txt", ["--max_train_batches=50",
                                          "--bench_epochs=1"]),
    "char_generator": ("sonnets.txt", ["--max_train_batches=30",
                                       "--bench_epochs=1"]),
}


def arguments(model: str, data_root: str) -> list[str] | str:
  """The benchmark flags for `model`, or why it is skipped."""
  if model not in SIZES:
    return "no reduced size defined in trainers/benchmark_sizes.py"
  data, extra = SIZES[model]
  if isinstance(extra, str):
    return extra
  if data is None:
    return list(extra)
  path = os.path.join(data_root, data)
  if not os.path.exists(path):
    return f"{path} not found"
  return [f"--data_path={path}", *extra]


_HEADER = ("| model | steps/epoch | ours ex/s | keras best ex/s (spe) | "
           "keras default ex/s | limit ex/s | ratio | ratio default | "
           "of_limit | epoch ms | loop call ms |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")


def markdown_row(row: dict) -> str:
  """One table row (a skipped model shows its reason)."""
  if "skipped" in row:
    return f"| {row['model']} | skipped: {row['skipped']} |"
  rate, fixed = row["examples_per_sec"], row["fixed_ms"]
  limit = rate.get("limit")
  return (f"| {row['model']} | {row['steps_per_epoch']} | {rate['ours']:.0f} "
          f"| {rate['keras_best']:.0f} ({row['steps_per_execution']}) | "
          f"{rate['keras_default']:.0f} | "
          f"{'-' if limit is None else f'{limit:.0f}'} | {row['ratio']:.2f} | "
          f"{row['ratio_default']:.2f} | "
          f"{row.get('of_limit', float('nan')):.2f} | "
          f"{fixed['epoch_ms']:.1f} | {fixed['loop_call_ms']:.2f} |")


def markdown_table(rows: list[dict]) -> str:
  """The whole table, one row per model."""
  return _HEADER + "\n".join(markdown_row(r) for r in rows) + "\n"
