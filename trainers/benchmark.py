r"""Races our loop against Keras at its best: `python -m trainers.benchmark`.

    python -m trainers.benchmark --model=series_dnn
    python -m trainers.benchmark --all --output=bench   # bench.md, bench.json

Four sides train the same architecture from the same initial weights on the
same data, with validation after every epoch (as `make run` does), in one
process:

* ours: `Trainer.fit` with --steps_per_loop;
* Keras at its best: `model.fit` with `steps_per_execution` equal to our
  steps_per_loop (capped at the steps per epoch) -> the headline `ratio:`;
* Keras's default, `steps_per_execution=1` -> `ratio_default:`;
* the limit: a bare hand-written tf.function running every epoch's steps and
  validation in ONE call (trainers/benchmark_limit.py) -> `of_limit:`.

Each side runs one warm-up epoch (tracing), then --repeats rounds of
--bench_epochs timed epochs, alternating sides so all see the same machine
load; the fastest round of each counts. Last, the fixed costs of our loop are
measured: an epoch of zero steps (with and without an empty validation pass)
and one compiled loop call.

`--all` runs every registered model in its own process at the reduced size
of trainers/benchmark_sizes.py (real data from --data_root) and writes one
table, as markdown and JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_flag(required=False)
common_flags.define_hparam_flags()
flags.DEFINE_bool("all", False, "Benchmark every registered model at the "
                  "reduced size of trainers/benchmark_sizes.py.")
flags.DEFINE_string("output", "benchmark", "--all: writes OUTPUT.md and "
                    "OUTPUT.json.")
flags.DEFINE_string("json_out", None, "Also write this model's figures as "
                    "JSON to this file.")
flags.DEFINE_string("data_root", "/work/shared/data",
                    "--all: the folder of the real course data files.")
flags.DEFINE_integer("model_timeout", 900, "--all: seconds per model.")
flags.DEFINE_integer("bench_epochs", 5, "Timed epochs per round.")
flags.DEFINE_integer("repeats", 3, "Timed rounds per side (best counts).")
flags.DEFINE_integer("steps_per_loop", 100, "Our loop's steps per call; "
                     "Keras's best uses it as steps_per_execution.")
flags.DEFINE_integer("max_train_batches", None, "Train on at most this many "
                     "batches per epoch (a reduced size).")
flags.DEFINE_integer("max_val_batches", None, "Validate on at most this "
                     "many batches.")
flags.DEFINE_bool("validation", True, "Validate after every epoch.")
flags.DEFINE_bool("limit", True, "Also time the bare compiled loop.")
common_flags.define_seed_flag("weights and data")
flags.DEFINE_bool("jit_compile", False, "Compile our step with XLA.")
flags.DEFINE_string("keras_jit_compile", "auto",
                    "jit_compile for model.compile: auto, true or false.")
for _name in ("bench_epochs", "repeats", "max_train_batches",
              "max_val_batches", "model_timeout", "steps_per_loop"):
  flags.register_validator(_name, lambda v: v is None or v > 0,
                           f"--{_name} must be positive")
FLAGS = flags.FLAGS

_FIXED_EPOCHS = 20
_LOOP_CALLS = 40


def count_batches_and_examples(dataset) -> tuple[int, int]:
  """(batches, examples) in one pass over a batched (x, y) dataset."""
  import tensorflow as tf
  batches, examples = dataset.reduce(
      (tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
      lambda n, e: (n[0] + 1, n[1] + tf.shape(e[1], tf.int64)[0]))
  return int(batches), int(examples)


def reduced(data, max_train: int | None, max_val: int | None,
            validation: bool):
  """The bundle's (train_fn, validation) capped to the reduced size.

  Chained epochs (an `EpochData`) stay chained (`EpochData.take`), so our
  loop keeps its one-iterator path, as in a full-size run; otherwise the
  same dataset object for every epoch stays one object, so the trainer's
  repeating-iterator path for full-batch data still applies.
  """
  from data.bundle import EpochData
  val = data.validation if validation else None
  if val is not None and max_val:
    val = val.take(max_val)
  if not max_train:
    return data.train, val
  if isinstance(data.train, EpochData):
    return data.train.take(max_train), val
  capped = {}

  def train(epoch: int):
    dataset = data.train(epoch)
    if id(dataset) not in capped:
      capped[id(dataset)] = (dataset, dataset.take(max_train))
    return capped[id(dataset)][1]

  return train, val


class Sides:
  """The four competitors for one model, built from one initial state."""

  def __init__(self, recipe, hparams, data_info, train_fn, validation,
               steps_per_epoch):
    import tensorflow as tf
    from trainers import benchmark_limit
    from trainers.common import session
    self.train_fn, self.validation = train_fn, validation
    self.steps_per_epoch = steps_per_epoch
    self.trainer = session.make_trainer(
        recipe, hparams, tf.distribute.get_strategy(), None,
        data_info=data_info, steps_per_loop=FLAGS.steps_per_loop,
        print_fn=None,
        jit_compile=FLAGS.jit_compile)
    spec = train_fn(0).element_spec
    self.trainer.build(spec)
    self.execution = max(1, min(FLAGS.steps_per_loop, steps_per_epoch))
    self.keras_best = build_keras(recipe, hparams, self.trainer, spec,
                                  self.execution)
    self.keras_default = build_keras(recipe, hparams, self.trainer, spec, 1)
    self.limit = None
    if FLAGS.limit:
      self.limit = benchmark_limit.make_bare_loop(
          recipe, hparams, self.trainer, train_fn(0), steps_per_epoch,
          validation)
    self.keras_data = train_fn(0)

  def run_ours(self, epochs: int) -> float:
    history = self.trainer.fit(
        self.train_fn, epochs=self.trainer.epochs_done + epochs,
        validation=self.validation, steps_per_epoch=self.steps_per_epoch)
    return history.history["loss"][-1]

  def _run_keras(self, model, epochs: int) -> float:
    history = model.fit(self.keras_data, epochs=epochs, verbose=0,
                        validation_data=self.validation)
    return history.history["loss"][-1]

  def run_keras_best(self, epochs: int) -> float:
    return self._run_keras(self.keras_best, epochs)

  def run_keras_default(self, epochs: int) -> float:
    return self._run_keras(self.keras_default, epochs)

  def run_limit(self, epochs: int) -> float:
    return self.limit.run(epochs)

  def names(self) -> list[str]:
    return ["ours", "keras_best", "keras_default"] + (
        ["limit"] if self.limit else [])


def race(sides: Sides) -> dict[str, tuple[float, float]]:
  """Warm-up each side, then alternate timed rounds: side -> (best s, loss)."""
  runners = {name: getattr(sides, f"run_{name}") for name in sides.names()}
  for run in runners.values():
    run(1)
  times = {name: [] for name in runners}
  losses = {}
  for _ in range(FLAGS.repeats):
    for name, run in runners.items():
      start = time.perf_counter()
      losses[name] = run(FLAGS.bench_epochs)
      times[name].append(time.perf_counter() - start)
  return {name: (min(times[name]), losses[name]) for name in runners}


def fixed_costs(sides: Sides) -> dict[str, float]:
  """Milliseconds of our per-epoch and per-loop-call fixed work.

  epoch_ms: an epoch of zero steps (one empty loop call, the epoch-end
  work); epoch_val_ms: the same with an empty validation pass; loop_call_ms:
  (time of S steps in S calls - in 1 call) / (S - 1), each the best of
  --repeats; limit_call_ms: one empty call of the bare loop.
  """
  trainer = sides.trainer
  empty = sides.train_fn(0).take(0)
  result = {}
  for key, validation in (("epoch_ms", None),
                          ("epoch_val_ms", sides.validation)):
    if key == "epoch_val_ms" and validation is None:
      continue
    val = None if validation is None else validation.take(0)
    trainer.fit(lambda _: empty, epochs=trainer.epochs_done + 1,
                validation=val)
    start = time.perf_counter()
    trainer.fit(lambda _: empty, epochs=trainer.epochs_done + _FIXED_EPOCHS,
                validation=val)
    result[key] = (time.perf_counter() - start) * 1e3 / _FIXED_EPOCHS
  repeating = sides.train_fn(0).repeat()
  seconds = {1: [], _LOOP_CALLS: []}
  for steps_per_loop in (1, _LOOP_CALLS):
    trainer.steps_per_loop = steps_per_loop
    trainer.fit(lambda _: repeating, train_steps=trainer.steps_done + 2)
  # Alternating, best of --repeats: on a slow model (35 ms steps) a
  # single pause of the shared machine would dwarf the per-call cost.
  for _ in range(FLAGS.repeats):
    for steps_per_loop in seconds:
      trainer.steps_per_loop = steps_per_loop
      start = time.perf_counter()
      trainer.fit(lambda _: repeating,
                  train_steps=trainer.steps_done + _LOOP_CALLS)
      seconds[steps_per_loop].append(time.perf_counter() - start)
  seconds = {k: min(v) for k, v in seconds.items()}
  trainer.steps_per_loop = FLAGS.steps_per_loop
  result["loop_call_ms"] = (seconds[1] - seconds[_LOOP_CALLS]) * 1e3 / (
      _LOOP_CALLS - 1)
  if sides.limit is not None:
    sides.limit.run(0)
    start = time.perf_counter()
    for _ in range(_LOOP_CALLS):
      sides.limit.run(0)
    result["limit_call_ms"] = (time.perf_counter() - start) * 1e3 / (
        _LOOP_CALLS)
  return result


def build_keras(recipe, hparams, trainer, spec, steps_per_execution: int):
  """The compiled Keras twin, starting from our trainer's initial weights."""
  from trainers import benchmark_keras
  features = spec[0]
  model = benchmark_keras.twin(trainer.model, features.shape[1:],
                               features.dtype.name)
  optimizer = benchmark_keras.keras_optimizer(
      recipe.optimizer, hparams["learning_rate"], **recipe.optimizer_kwargs)
  jit = {"auto": "auto", "true": True, "false": False}[
      FLAGS.keras_jit_compile.lower()]
  from models import registry
  loss = registry.loss_name(recipe, hparams)
  model.compile(optimizer=optimizer, loss=_keras_loss(loss),
                metrics=list(recipe.metrics), jit_compile=jit,
                steps_per_execution=steps_per_execution)
  return model


def _keras_loss(name: str) -> str:
  return {"huber": "huber", "mse": "mse", "mae": "mae"}.get(name, name)


def benchmark_model(model_name: str) -> dict:
  """Builds the four sides for one model, races them; all figures."""
  from data.bundle import model_hparams
  from trainers.common import session
  recipe, hparams = session.recipe_and_hparams(
      model_name, common_flags.hparam_overrides(), FLAGS.seed)
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  train_fn, validation = reduced(data, FLAGS.max_train_batches,
                                 FLAGS.max_val_batches, FLAGS.validation)
  steps, examples = count_batches_and_examples(train_fn(0))
  sides = Sides(recipe, hparams, data.info, train_fn, validation, steps)
  best = race(sides)
  timed = examples * FLAGS.bench_epochs
  rate = {name: timed / seconds for name, (seconds, _) in best.items()}
  result = {
      "model": recipe.name, "batch_size": hparams["batch_size"],
      "steps_per_epoch": steps, "examples_per_epoch": examples,
      "validation_batches": (None if validation is None else
                             count_batches_and_examples(validation)[0]),
      "timed_epochs": FLAGS.bench_epochs, "repeats": FLAGS.repeats,
      "steps_per_execution": sides.execution,
      "examples_per_sec": rate,
      "final_loss": {name: loss for name, (_, loss) in best.items()},
      "ratio": rate["ours"] / rate["keras_best"],
      "ratio_default": rate["ours"] / rate["keras_default"],
  }
  if "limit" in rate:
    result["of_limit"] = rate["ours"] / rate["limit"]
  result["fixed_ms"] = fixed_costs(sides)
  return result


def print_result(result: dict) -> None:
  """The human-readable lines; `ratio:` and `of_limit:` are parsed."""
  rate, loss = result["examples_per_sec"], result["final_loss"]
  print(f"model {result['model']}, batch {result['batch_size']}, "
        f"{result['timed_epochs']} timed epochs of "
        f"{result['examples_per_epoch']} examples "
        f"({result['steps_per_epoch']} steps), validation batches "
        f"{result['validation_batches']}")
  labels = {
      "ours": "tfpractice",
      "keras_best": ("keras fit, steps_per_execution="
                     f"{result['steps_per_execution']}"),
      "keras_default": "keras fit, default",
      "limit": "bare compiled loop (limit)"}
  for name in rate:
    print(f"{labels[name] + ':':44s}{rate[name]:12.1f} examples/sec  "
          f"final loss {loss[name]:.5g}")
  fixed = result["fixed_ms"]
  print("fixed cost (ms): " + ", ".join(f"{k[:-3]} {v:.2f}"
                                        for k, v in fixed.items()))
  print(f"ratio: {result['ratio']:.2f}")
  print(f"ratio_default: {result['ratio_default']:.2f}")
  if "of_limit" in result:
    print(f"of_limit: {result['of_limit']:.2f}")


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.all == bool(FLAGS.model):
    raise cli.UsageError("give either --model=NAME or --all")
  if FLAGS.all:
    return run_all()
  result = benchmark_model(FLAGS.model)
  print_result(result)
  if FLAGS.json_out:
    with open(FLAGS.json_out, "w") as f:
      json.dump(result, f, indent=1)


def run_all() -> None:
  """Every registered model in its own process; one markdown+JSON table."""
  from models import registry
  from trainers import benchmark_sizes
  rows = []
  for name in registry.names():
    args = benchmark_sizes.arguments(name, FLAGS.data_root)
    if isinstance(args, str):
      rows.append({"model": name, "skipped": args})
      print(f"{name}: skipped ({args})", flush=True)
      continue
    rows.append(_run_one(name, args))
    print(benchmark_sizes.markdown_row(rows[-1]), flush=True)
  with open(f"{FLAGS.output}.json", "w") as f:
    json.dump(rows, f, indent=1)
  with open(f"{FLAGS.output}.md", "w") as f:
    f.write(benchmark_sizes.markdown_table(rows))
  print(f"wrote {FLAGS.output}.md and {FLAGS.output}.json")


def _run_one(name: str, args: list[str]) -> dict:
  common = [f"--steps_per_loop={FLAGS.steps_per_loop}",
            f"--seed={FLAGS.seed}", f"--repeats={FLAGS.repeats}"]
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    command = [sys.executable, "-m", "trainers.benchmark", f"--model={name}",
               f"--json_out={out}", *common, *args]
    try:
      done = subprocess.run(command, capture_output=True, text=True,
                            timeout=FLAGS.model_timeout)
    except subprocess.TimeoutExpired:
      return {"model": name, "skipped": f"over {FLAGS.model_timeout} s"}
    if done.returncode != 0 or not os.path.exists(out):
      last = (done.stderr.strip().splitlines() or ["no output"])[-1]
      return {"model": name, "skipped": f"failed: {last[:200]}"}
    with open(out) as f:
      return json.load(f)


if __name__ == "__main__":
  cli.run(main)
