r"""Can the image pipeline feed the model? `trainers.pipeline_benchmark`.

    python -m trainers.pipeline_benchmark --data_path=DIR

Measures two rates in images/sec and prints them with `ratio: X.XX`
(pipeline / model; the goal is >= 2, so input never starves training):

1. the class-per-folder pipeline alone with the course's augmentation
   (rotation 40, shifts 0.2, shear 0.2, zoom 0.2, flip, fill nearest),
   batched like cats_dogs_cnn, over --bench_epochs epochs after a warm-up
   epoch (decoded images cached in memory unless --nocache, which decodes
   the files every epoch);
2. what cats_dogs_cnn consumes: training steps on one in-memory batch, so
   no input cost is counted, after a warm-up call that traces the loop.

    python -m trainers.pipeline_benchmark --pipeline=text --data_path=ACLIMDB

The text mode (aclImdb folder or archive, train split) prints reviews/sec of

1. the Python word tokenizer path (`Tokenizer.texts_to_sequences`, as the
   word recipes encode; then also with their padding to 120) and of the
   subword pipeline (raw strings tokenized by TF ops, `tokenize_all`, then
   batched and padded per batch in tf.data, `id_batches`: a run's first
   epoch; later epochs only batch), with their `tokenizer ratio` (the goal
   is >= 10); each the best of 3 passes over the reviews (--bench_epochs
   for the subword pipeline), as the machine may be shared;
2. the subword pipeline against what imdb_bilstm consumes on its batches
   (held in memory after a warm-up epoch): `ratio` (goal >= 2).

The subword vocabulary is learned from the reviews (`--vocab_size`, default
8185; the time is printed), or read from `--subword_vocab` (a run's
subword_vocab.txt) to skip learning.
"""

from __future__ import annotations

import time

import numpy as np
from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_hparam_flags()
flags.DEFINE_integer("bench_epochs", 3, "Timed pipeline epochs.")
flags.DEFINE_integer("model_steps", 10, "Timed cats_dogs_cnn training steps.")
flags.DEFINE_bool("cache", True, "Keep decoded images in memory, as training "
                  "does when they fit (--nocache decodes every epoch).")
common_flags.define_seed_flag("the order, augmentation and weights")
flags.DEFINE_enum("pipeline", "images", ["images", "text"], "images: the "
                  "augmented folder pipeline against cats_dogs_cnn; text: "
                  "the subword IMDB pipeline against imdb_bilstm.")
flags.DEFINE_string("subword_vocab", None, "Text: a saved subword "
                    "vocabulary (model_dir/subword_vocab.txt) instead of "
                    "learning one.")
for _name in ("bench_epochs", "model_steps"):
  flags.register_validator(_name, lambda v: v > 0,
                           message=f"--{_name} must be positive")
FLAGS = flags.FLAGS
MODEL = "cats_dogs_cnn"


def pipeline_rate(data_path: str, image_size: int, batch_size: int,
                  epochs: int, seed: int, cache: bool) -> tuple[float, int]:
  """(images/sec of the augmented folder pipeline, images per epoch)."""
  from data.images import image_folder
  from data.images import bundles as image_bundles
  bundle = image_folder.image_folder_bundle(
      data_path, image_size=(image_size, image_size), batch_size=batch_size,
      label_mode="sparse", seed=seed,
      augmentation=image_bundles.COURSE_AUGMENTATION,
      cache_bytes=image_folder.DEFAULT_CACHE_BYTES if cache else 0)
  count_epoch(bundle.train(0))  # warm-up: builds and traces the pipeline
  started = time.perf_counter()
  images = sum(count_epoch(bundle.train(epoch))
               for epoch in range(1, epochs + 1))
  return images / (time.perf_counter() - started), images // epochs


def best_rate(run, items: int, repeats: int = 3) -> float:
  """items/sec of the fastest of `repeats` calls of run() (the machine may
  be shared: the best run is the least disturbed)."""
  seconds = []
  for _ in range(repeats):
    started = time.perf_counter()
    run()
    seconds.append(time.perf_counter() - started)
  return items / min(seconds)


def count_epoch(dataset) -> int:
  """Iterates a batched (images, labels) dataset; returns the image count."""
  return sum(int(images.shape[0]) for images, _ in dataset)


def model_rate(image_size: int, batch_size: int, steps: int,
               seed: int) -> float:
  """Images/sec cats_dogs_cnn trains on, fed one in-memory batch."""
  import tensorflow as tf
  from models import registry
  from trainers.common import session
  recipe = registry.get(MODEL)
  hparams = dict(recipe.hparams, image_size=image_size,
                 batch_size=batch_size, seed=seed)
  session.set_seeds(seed)
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 steps_per_loop=steps, print_fn=None)
  images = tf.random.uniform([batch_size, image_size, image_size, 3])
  labels = tf.cast(tf.random.uniform([batch_size, 1]) < 0.5, tf.float32)
  data_fn = lambda epoch: tf.data.Dataset.from_tensors(
      (images, labels)).repeat(steps)
  trainer.fit(data_fn, epochs=1, steps_per_epoch=steps)  # traces the loop
  started = time.perf_counter()
  trainer.fit(data_fn, epochs=2, steps_per_epoch=steps)
  return steps * batch_size / (time.perf_counter() - started)


def text_rates(data_path: str, vocab_size: int, batch_size: int,
               epochs: int, model_steps: int, seed: int) -> None:
  """Prints the text mode's rates (see the module docstring)."""
  import tensorflow as tf
  from data.text import pipelines, readers, subword_pipeline
  from data.text.subword import SubwordTokenizer
  from data.text.tokenizer import Tokenizer
  texts = readers.read_imdb(data_path)["train"].texts
  started = time.perf_counter()
  if FLAGS.subword_vocab:
    tokenizer = SubwordTokenizer.load(FLAGS.subword_vocab)
  else:
    tokenizer = SubwordTokenizer.learn(texts, vocab_size)
  print(f"{len(texts)} reviews; subword vocabulary of "
        f"{tokenizer.vocab_size} ids "
        f"{'read' if FLAGS.subword_vocab else 'learned'} in "
        f"{time.perf_counter() - started:.1f} s")
  words = Tokenizer(num_words=10000, oov_token="<OOV>").fit_on_texts(texts)
  word_rate = best_rate(lambda: words.texts_to_sequences(texts), len(texts))
  padded_rate = best_rate(lambda: pipelines.encode_texts(
      words, texts, 120, "pre", "post"), len(texts))
  labels = np.zeros([len(texts)], np.float32)

  def pipeline() -> tf.data.Dataset:
    return subword_pipeline.id_batches(
        subword_pipeline.tokenize_all(tokenizer, texts), labels, batch_size,
        None)

  count_epoch(pipeline())  # warm-up: traces the maps
  subword_rate = best_rate(lambda: count_epoch(pipeline()), len(texts),
                           repeats=epochs)
  print(f"word tokenizer (Python):      {word_rate:12.1f} reviews/sec")
  print(f"  with padding to 120:        {padded_rate:12.1f} reviews/sec")
  print(f"subword pipeline (tf.data):   {subword_rate:12.1f} reviews/sec")
  print(f"tokenizer ratio: {subword_rate / word_rate:.2f}", flush=True)
  model = text_model_rate(pipeline(), tokenizer.vocab_size, batch_size,
                          model_steps, seed)
  print(f"imdb_bilstm training:         {model:12.1f} reviews/sec")
  print(f"ratio: {subword_rate / model:.2f}")


def text_model_rate(batches, vocab_size: int, batch_size: int, steps: int,
                    seed: int) -> float:
  """Reviews/sec imdb_bilstm trains on the first `steps` subword batches,
  held in memory (a warm-up pass fills the cache and traces the loop)."""
  import tensorflow as tf
  from models import registry
  from trainers.common import session
  recipe = registry.get("imdb_bilstm")
  hparams = dict(recipe.hparams, tokenizer="subword", vocab_size=vocab_size,
                 batch_size=batch_size, seed=seed)
  session.set_seeds(seed)
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 steps_per_loop=steps, print_fn=None)
  cached = batches.take(steps).cache()
  data_fn = lambda epoch: cached
  trainer.fit(data_fn, epochs=1, steps_per_epoch=steps)
  started = time.perf_counter()
  trainer.fit(data_fn, epochs=2, steps_per_epoch=steps)
  return steps * batch_size / (time.perf_counter() - started)


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.pipeline == "text":
    if not FLAGS.data_path:
      raise cli.UsageError("--data_path is required: the aclImdb folder or "
                           "its archive")
    text_rates(FLAGS.data_path, FLAGS.vocab_size or 8185,
               FLAGS.batch_size or 64, FLAGS.bench_epochs,
               FLAGS.model_steps, FLAGS.seed)
    return
  if not FLAGS.data_path:
    raise cli.UsageError("--data_path is required: a folder with one "
                         "sub-folder of images per class (e.g. the output of "
                         "trainers.prepare --dataset=cats-vs-dogs)")
  from models import registry
  defaults = registry.get(MODEL).hparams
  image_size = FLAGS.image_size or defaults["image_size"]
  batch_size = FLAGS.batch_size or defaults["batch_size"]
  pipeline, per_epoch = pipeline_rate(FLAGS.data_path, image_size,
                                      batch_size, FLAGS.bench_epochs,
                                      FLAGS.seed, FLAGS.cache)
  model = model_rate(image_size, batch_size, FLAGS.model_steps, FLAGS.seed)
  print(f"{per_epoch} images per epoch, {image_size}x{image_size}, batch "
        f"{batch_size}, images "
        + ("decoded once and cached in memory" if FLAGS.cache
           else "decoded from the files every epoch"))
  print(f"augmented pipeline: {pipeline:12.1f} images/sec")
  print(f"{MODEL} training: {model:12.1f} images/sec")
  print(f"ratio: {pipeline / model:.2f}")


if __name__ == "__main__":
  cli.run(main)
