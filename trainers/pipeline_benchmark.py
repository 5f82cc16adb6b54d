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
"""

from __future__ import annotations

import time

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_hparam_flags()
flags.DEFINE_integer("bench_epochs", 3, "Timed pipeline epochs.")
flags.DEFINE_integer("model_steps", 10, "Timed cats_dogs_cnn training steps.")
flags.DEFINE_bool("cache", True, "Keep decoded images in memory, as training "
                  "does when they fit (--nocache decodes every epoch).")
common_flags.define_seed_flag("the order, augmentation and weights")
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


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
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
