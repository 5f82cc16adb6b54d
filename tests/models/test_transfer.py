"""The transfer recipes: Keras's totals, fine-tuning, cached features."""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import tensorflow as tf

from engine import optimizers
from engine.summary_table import param_counts
from engine.trainer import Trainer
from models import registry
from models import vision
from trainers.common import session

SIZE = 75
BASE_MIXED7_PARAMS = 8_975_264


def _write_image_folder(root: str, per_class: int = 3) -> str:
  rng = np.random.default_rng(0)
  for name in ("cats", "dogs"):
    os.makedirs(os.path.join(root, name))
    for index in range(per_class):
      pixels = rng.integers(0, 256, [SIZE, SIZE, 3], dtype=np.uint8)
      tf.io.write_file(os.path.join(root, name, f"{index}.png"),
                       tf.io.encode_png(pixels))
  return root


def _hparams(**overrides):
  recipe = registry.get("cats_dogs_transfer")
  values = {"image_size": SIZE, "pretrained": False, "augment": False}
  values.update(overrides)
  return recipe, session.resolve_hparams(recipe, values)


class TransferRecipeTest(tf.test.TestCase):

  def test_course_totals(self):
    recipe, hparams = _hparams()
    model = recipe.build_model(hparams)
    model.build([SIZE, SIZE, 3])
    counts = param_counts(model)
    head = math.prod(vision.inception_output_shape(SIZE, "mixed7")) * 1024 + 1024
    head += 1025
    self.assertEqual(counts.total, BASE_MIXED7_PARAMS + head)
    self.assertEqual(counts.trainable, head)
    # At the course's 150x150 only the Flatten width changes.
    head_150 = math.prod(vision.inception_output_shape(150, "mixed7")) * 1024 + 2049
    self.assertEqual(BASE_MIXED7_PARAMS + head_150, 47_512_481)
    self.assertEqual(head_150, 38_537_217)
    self.assertEqual(recipe.hparams["learning_rate"], 1e-4)
    self.assertEqual(recipe.optimizer, "rmsprop")
    self.assertEqual(recipe.target, ("accuracy", 0.999))
    self.assertTrue(recipe.hparams["augment"])

  def test_fine_tune_from_unfreezes_later_blocks_at_a_tenth_rate(self):
    recipe, hparams = _hparams(fine_tune_from="mixed6", cut_at="mixed7")
    model = recipe.build_model(hparams)
    trainable = {id(v) for v in model.trainable_variables}
    base = model.base
    for block, expect in (("mixed5", False), ("mixed6", True),
                          ("mixed7", True)):
      layer_vars = [v for layer in base.block_layers(block)
                    for v in layer.trainable_variables or layer.variables
                    if v.trainable]
      self.assertEqual(all(id(v) in trainable for v in layer_vars), expect,
                       block)
    self.assertEqual(model.learning_rate_multipliers(), [(base, 0.1)])
    frozen = recipe.build_model(_hparams()[1])
    self.assertEqual(frozen.learning_rate_multipliers(), [])

  def test_options_are_checked(self):
    recipe, hparams = _hparams(cache_features=True, augment=True)
    with self.assertRaisesRegex(ValueError, "cache_features=true needs"):
      recipe.make_data(hparams)
    _, hparams = _hparams(fine_tune_from="mixed9")
    with self.assertRaisesRegex(ValueError, "not a block of the base"):
      vision.check_transfer_options(hparams)

  def test_cached_features_train_like_the_full_model(self):
    data_path = _write_image_folder(tempfile.mkdtemp())
    options = dict(data_path=data_path, batch_size=4, dropout=0.0,
                   cut_at="mixed0", validation_split=0.34)
    recipe, plain_hparams = _hparams(**options)
    _, cached_hparams = _hparams(cache_features=True, **options)
    models = [recipe.build_model(plain_hparams),
              recipe.build_model(cached_hparams)]
    for model in models:
      model.build([SIZE, SIZE, 3])
    self.assertLen(models[1].variables, len(models[0].variables))
    for a, b in zip(models[0].variables, models[1].variables):
      b.assign(a)
    heads, bundles, histories = [], [], []
    for model, hparams in zip(models, (plain_hparams, cached_hparams)):
      data = recipe.make_data(hparams)
      trainer = Trainer(model, "binary_crossentropy",
                        optimizers.get("rmsprop", learning_rate=1e-3),
                        ["accuracy"], print_fn=None)
      # Only the cached run validates (on cached features): tracing the
      # plain model's evaluation too would double the test's time.
      histories.append(trainer.fit(
          data.train, epochs=2, steps_per_epoch=data.steps_per_epoch,
          validation=data.validation if hparams["cache_features"] else None,
          hooks=recipe.extra_hooks(hparams, data)))
      heads.append([v.numpy() for v in model.layers[2].variables])
      bundles.append(data)
    for plain, cached in zip(*heads):
      self.assertAllClose(plain, cached, atol=1e-5, rtol=1e-5)
    self.assertLen(bundles[1].info.feature_cache.validation_batches, 1)
    # The cached validation equals the model run on the validation images.
    images, labels = next(iter(bundles[0].validation))
    probabilities = models[1](images, training=False).numpy()
    expected_loss = -np.mean(
        labels * np.log(probabilities)
        + (1 - labels) * np.log(1 - probabilities))
    logs = histories[1].last()
    self.assertAllClose(logs["val_loss"], expected_loss, atol=1e-5)
    self.assertAllClose(logs["val_accuracy"],
                        np.mean((probabilities >= 0.5) == labels))


class LearningRateFactorTest(tf.test.TestCase):

  def test_scaled_variables_take_smaller_steps(self):
    slow, fast = tf.Variable([1.0]), tf.Variable([1.0])
    optimizer = optimizers.get("sgd", learning_rate=0.5)
    optimizer.scale_learning_rate([slow], 0.1)
    optimizer.apply([tf.constant([1.0]), tf.constant([1.0])], [slow, fast])
    self.assertAllClose(slow, [0.95])
    self.assertAllClose(fast, [0.5])


class TransferCheckpointTest(tf.test.TestCase):

  def test_round_trip_through_run_checkpoint(self):
    from engine.checkpoint import RunCheckpoint
    directory = tempfile.mkdtemp()
    recipe, hparams = _hparams(cut_at="mixed0")
    models = [recipe.build_model(hparams) for _ in range(2)]
    for model in models:
      model.build([SIZE, SIZE, 3])
    RunCheckpoint(directory, model=models[0]).save(0)
    RunCheckpoint(directory, model=models[1]).restore_latest()
    for a, b in zip(models[0].variables, models[1].variables):
      self.assertAllEqual(a, b)


class PretrainedWeightsTest(tf.test.TestCase):

  def test_missing_local_copy_is_one_clear_error(self):
    _, hparams = _hparams(pretrained=True,
                          pretrained_weights="/nonexistent/w.h5")
    with self.assertRaisesRegex(
        ValueError, "pretrained_weights=/nonexistent/w.h5 does not exist.*"
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"):
      vision.pretrained_path(hparams)

  def test_catalog_entry_is_keras_file_with_md5(self):
    from data import catalog
    entry = catalog.get(vision.PRETRAINED_ENTRY)
    self.assertEqual(entry.md5, "bcbd6486424b2319ff4ef7d526e38f63")
    self.assertTrue(entry.url.endswith("/inception_v3/" + entry.filename))

  def test_frozen_base_gets_no_gradient(self):
    recipe, hparams = _hparams(cut_at="mixed0")
    model = recipe.build_model(hparams)
    x = tf.random.uniform([1, SIZE, SIZE, 3])
    base_variables = model.base.variables
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(model(x, training=True))
    grads = tape.gradient(loss, [*base_variables, *model.trainable_variables])
    self.assertTrue(all(g is None for g in grads[:len(base_variables)]))
    self.assertTrue(all(g is not None for g in grads[len(base_variables):]))
