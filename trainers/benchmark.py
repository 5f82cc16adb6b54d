r"""Races our loop against Keras `model.fit`: `python -m trainers.benchmark --model=NAME`.

Both train the same architecture from the same initial weights on the same
data and batch size, in one process. Each side first runs one warm-up epoch
(tracing/compilation), then --repeats rounds of --bench_epochs timed epochs,
alternating ours and Keras so that both see the same machine load; the
fastest round of each counts. Prints examples/sec and the final training
loss of each, and a last line `ratio: X.XX` (ours / Keras; above 1 means we
are faster).
"""

from __future__ import annotations

import time

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_flag()
common_flags.define_hparam_flags()
flags.DEFINE_integer("bench_epochs", 5, "Timed epochs per round.")
flags.DEFINE_integer("repeats", 3, "Timed rounds per side (best counts).")
flags.DEFINE_integer("steps_per_loop", 100, "Our loop's steps per call.")
common_flags.define_seed_flag("weights and data")
flags.DEFINE_bool("jit_compile", False, "Compile our step with XLA.")
flags.DEFINE_string("keras_jit_compile", "auto",
                    "jit_compile for model.compile: auto, true or false.")
flags.register_validator("bench_epochs", lambda v: v > 0,
                         "--bench_epochs must be positive")
flags.register_validator("repeats", lambda v: v > 0,
                         "--repeats must be positive")
FLAGS = flags.FLAGS


def count_examples(dataset) -> int:
  """Examples in one pass over a batched (x, y) dataset."""
  import tensorflow as tf
  return int(dataset.reduce(tf.constant(0, tf.int64),
                            lambda n, e: n + tf.shape(e[1], tf.int64)[0]))


def time_ours(trainer, data, epochs: int) -> tuple[float, float]:
  """(seconds for `epochs` more epochs of our loop, last loss)."""
  start = time.perf_counter()
  history = trainer.fit(data.train, epochs=trainer.epochs_done + epochs,
                        steps_per_epoch=data.steps_per_epoch)
  seconds = time.perf_counter() - start
  return seconds, history.history["loss"][-1]


def time_keras(keras_model, dataset, epochs: int) -> tuple[float, float]:
  """(seconds for `epochs` epochs of model.fit, last loss)."""
  start = time.perf_counter()
  history = keras_model.fit(dataset, epochs=epochs, verbose=0)
  return time.perf_counter() - start, history.history["loss"][-1]


def race(trainer, keras_model, data) -> tuple[float, float, float, float]:
  """Warm-up both, then alternate timed rounds; best seconds of each."""
  dataset = data.train(0)
  trainer.fit(data.train, epochs=1, steps_per_epoch=data.steps_per_epoch)
  keras_model.fit(dataset, epochs=1, verbose=0)
  ours, theirs = [], []
  for _ in range(FLAGS.repeats):
    ours.append(time_ours(trainer, data, FLAGS.bench_epochs))
    theirs.append(time_keras(keras_model, dataset, FLAGS.bench_epochs))
  best_ours, best_theirs = min(ours), min(theirs)
  return best_ours[0], ours[-1][1], best_theirs[0], theirs[-1][1]


def build_keras(recipe, hparams, trainer, spec):
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
                metrics=list(recipe.metrics), jit_compile=jit)
  return model


def _keras_loss(name: str) -> str:
  return {"huber": "huber", "mse": "mse", "mae": "mae"}.get(name, name)


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  import tensorflow as tf
  from trainers.common import session
  recipe, hparams = session.recipe_and_hparams(
      FLAGS.model, common_flags.hparam_overrides(), FLAGS.seed)
  from data.bundle import model_hparams
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  spec = data.element_spec
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 data_info=data.info,
                                 steps_per_loop=FLAGS.steps_per_loop,
                                 print_fn=None, jit_compile=FLAGS.jit_compile)
  trainer.build(spec)
  keras_model = build_keras(recipe, hparams, trainer, spec)
  examples = count_examples(data.train(0)) * FLAGS.bench_epochs
  ours_s, ours_loss, keras_s, keras_loss = race(trainer, keras_model, data)
  ours_rate, keras_rate = examples / ours_s, examples / keras_s
  print(f"model {recipe.name}, batch {hparams['batch_size']}, "
        f"{FLAGS.bench_epochs} timed epochs of {examples // FLAGS.bench_epochs}"
        " examples")
  print(f"tfpractice: {ours_rate:12.1f} examples/sec  final loss "
        f"{ours_loss:.5g}")
  print(f"keras fit:  {keras_rate:12.1f} examples/sec  final loss "
        f"{keras_loss:.5g}")
  print(f"ratio: {ours_rate / keras_rate:.2f}")


if __name__ == "__main__":
  cli.run(main)
