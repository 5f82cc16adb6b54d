"""trainers.import_keras: a Keras-trained mnist_cnn predicts the same here."""

from __future__ import annotations

import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests import testing
from trainers.common import session


def _keras_mnist_cnn():
  keras.utils.set_random_seed(3)
  return keras.Sequential([
      keras.Input((28, 28, 1)),
      keras.layers.Conv2D(64, 3, activation="relu"),
      keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
      keras.layers.Dense(128, activation="relu"),
      keras.layers.Dense(10, activation="softmax")])


class ImportKerasTest(tf.test.TestCase):

  def test_imported_model_predicts_like_keras_and_bad_files_write_nothing(
      self):
    tmp = tempfile.mkdtemp()
    keras_model = _keras_mnist_cnn()
    weights = os.path.join(tmp, "mnist.weights.h5")
    keras_model.save_weights(weights)
    model_dir = os.path.join(tmp, "run")
    result = testing.run_binary("trainers.import_keras", "--model=mnist_cnn",
                                f"--weights={weights}",
                                f"--model_dir={model_dir}")
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(os.path.join(model_dir, "config.json")) as f:
      self.assertEqual(json.load(f)["model"], "mnist_cnn")
    with open(os.path.join(model_dir, "classes.json")) as f:
      self.assertEqual(json.load(f)["class_names"][:2], ["0", "1"])
    recipe, hparams = session.load_run(model_dir)
    spec = session.input_spec(recipe, hparams)
    trainer = session.restored_trainer(recipe, hparams, model_dir, spec)
    self.assertEqual(trainer.steps_done, 0)
    images = np.random.default_rng(0).uniform(0, 1, [4, 28, 28, 1])
    images = images.astype(np.float32)
    ours = trainer.predict(tf.data.Dataset.from_tensor_slices(images).batch(4))
    testing.assert_allclose(ours, keras_model(images), atol=1e-4, rtol=1e-4)

    other_dir = os.path.join(tmp, "other")
    bad = testing.run_binary("trainers.import_keras", "--model=mnist_dnn",
                             f"--weights={weights}",
                             f"--model_dir={other_dir}")
    self.assertEqual(bad.returncode, 2, bad.stderr)
    self.assertIn("error: ", bad.stderr)
    self.assertIn("does not fit dense: w has shape (10816, 128)", bad.stderr)
    self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
    self.assertFalse(os.path.exists(other_dir))
