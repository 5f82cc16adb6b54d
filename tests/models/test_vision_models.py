"""Vision models against Keras, their data options and hooks."""

from __future__ import annotations

import gzip
import os
import struct
import urllib.error
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from data import download
from data.errors import DataError
from data.images import bundles
from engine.summaries import SummaryWriters
from models import registry

L = keras.layers


def _conv_blocks(*filters):
  layers = []
  for count in filters:
    layers += [L.Conv2D(count, 3, activation="relu"), L.MaxPooling2D(2)]
  return layers


def _head(hidden, outputs):
  activation = "sigmoid" if outputs == 1 else "softmax"
  return [L.Flatten(), L.Dense(hidden, activation="relu"),
          L.Dense(outputs, activation=activation)]


KERAS_TWINS = {
    "mnist_dnn": ((28, 28, 1), lambda: _head(128, 10)),
    "fashion_mnist_dnn": ((28, 28, 1), lambda: _head(128, 10)),
    "mnist_cnn": ((28, 28, 1), lambda: _conv_blocks(64) + _head(128, 10)),
    "fashion_mnist_cnn": ((28, 28, 1),
                          lambda: _conv_blocks(64, 64) + _head(128, 10)),
    "sign_language_cnn": ((28, 28, 1),
                          lambda: _conv_blocks(64, 64) + _head(128, 26)),
    "happy_sad_cnn": ((150, 150, 3),
                      lambda: _conv_blocks(16, 32, 64) + _head(512, 1)),
    "cats_dogs_cnn": ((150, 150, 3),
                      lambda: _conv_blocks(16, 32, 64) + _head(512, 1)),
    "horse_human_cnn": ((300, 300, 3), lambda: _conv_blocks(
        16, 32, 64, 64, 64) + _head(512, 1)),
    "rps_cnn": ((150, 150, 3), lambda: _conv_blocks(64, 64, 128, 128) + [
        L.Flatten(), L.Dropout(0.5), L.Dense(512, activation="relu"),
        L.Dense(3, activation="softmax")]),
}


@pytest.mark.parametrize("name", sorted(KERAS_TWINS), ids=sorted(KERAS_TWINS))
def test_model_equals_keras_shapes_params_and_outputs(name):
  recipe = registry.get(name)
  input_shape, make_layers = KERAS_TWINS[name]
  assert recipe.input_shape(recipe.hparams) == (input_shape, tf.float32)
  model = recipe.build_model(recipe.hparams)
  model.build(input_shape)
  reference = keras.Sequential([keras.Input(input_shape), *make_layers()])
  ours = [layer for layer in model.layers if layer.variables]
  theirs = [layer for layer in reference.layers if layer.weights]
  assert len(ours) == len(theirs)
  for engine_layer, keras_layer in zip(ours, theirs):
    keras_layer.set_weights([engine_layer.w.numpy(), engine_layer.b.numpy()])
  x = np.random.default_rng(0).random((2, *input_shape), np.float32)
  expected = reference(x, training=False).numpy()
  actual = model(x, training=False).numpy()
  assert actual.shape == expected.shape
  assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == (
      reference.count_params())
  np.testing.assert_allclose(actual, expected, atol=2e-5, rtol=1e-4)


# -- array data ---------------------------------------------------------------


def _write_idx(path, array, magic):
  header = struct.pack(">I", magic) + b"".join(
      struct.pack(">I", d) for d in array.shape)
  with gzip.open(path, "wb") as stream:
    stream.write(header + array.astype(np.uint8).tobytes())


def _digits(count, seed=0):
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
  labels = (np.arange(count) % 10).astype(np.uint8)
  return images, labels


def _write_t10k(directory, images, labels):
  os.makedirs(directory, exist_ok=True)
  _write_idx(os.path.join(directory, "t10k-images-idx3-ubyte.gz"), images,
             0x0803)
  _write_idx(os.path.join(directory, "t10k-labels-idx1-ubyte.gz"), labels,
             0x0801)


def _bundle(name, **overrides):
  recipe = registry.get(name)
  hparams = dict(recipe.hparams, **overrides)
  return recipe.make_data(hparams)


def _all(dataset):
  xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
  return np.concatenate(xs), np.concatenate(ys)


def test_t10k_folder_trains_on_first_part_validates_on_last(tmp_path):
  images, labels = _digits(10)
  _write_t10k(tmp_path / "mnist", images, labels)
  bundle = _bundle("mnist_cnn", data_path=str(tmp_path / "mnist"),
                   split="t10k", validation_split=0.2, batch_size=4)
  train_x, train_y = _all(bundle.train(0))
  val_x, val_y = _all(bundle.validation)
  assert sorted(train_y.tolist()) == sorted(labels[:8].tolist())
  np.testing.assert_array_equal(val_y, labels[8:])
  np.testing.assert_allclose(val_x[..., 0], images[8:] / 255.0, atol=1e-6)
  assert train_x.shape == (8, 28, 28, 1) and train_x.max() <= 1.0
  assert bundle.steps_per_epoch == 2
  assert bundle.info.num_validation == 2


def test_skip_and_take_select_a_window_and_auto_uses_t10k(tmp_path, capsys):
  images, labels = _digits(10)
  _write_t10k(tmp_path, images, labels)
  bundle = _bundle("mnist_dnn", data_path=str(tmp_path), skip=3, take=5)
  _, train_y = _all(bundle.train(0))
  assert sorted(train_y.tolist()) == sorted(labels[3:8].tolist())
  assert bundle.validation is None
  assert "training on t10k" in capsys.readouterr().out


def test_npz_validates_on_test_arrays(tmp_path):
  train_x, train_y = _digits(6, seed=1)
  test_x, test_y = _digits(4, seed=2)
  path = tmp_path / "mnist.npz"
  np.savez(path, x_train=train_x, y_train=train_y, x_test=test_x,
           y_test=test_y)
  bundle = _bundle("fashion_mnist_dnn", data_path=str(path), batch_size=3)
  val_x, val_y = _all(bundle.validation)
  np.testing.assert_array_equal(val_y, test_y)
  np.testing.assert_allclose(val_x[..., 0], test_x / 255.0, atol=1e-6)
  assert bundle.steps_per_epoch == 2


def _write_csv(path, labels, pixel=7):
  rows = [",".join([str(label)] + [str(pixel)] * 784) for label in labels]
  path.write_text("\r\n".join(rows))
  return str(path)


def test_sign_language_csv_is_augmented_and_validated(tmp_path):
  rng = np.random.default_rng(3)
  pixels = rng.integers(0, 256, (6, 784))
  rows = [",".join(map(str, [label, *pixels[label]])) for label in range(6)]
  (tmp_path / "train.csv").write_text("\r\n".join(rows))
  validation = _write_csv(tmp_path / "test.csv", [1, 24])
  bundle = _bundle("sign_language_cnn", data_path=str(tmp_path / "train.csv"),
                   validation_path=validation, batch_size=6)
  augmented, labels = _all(bundle.train(0))
  plain = pixels.reshape(6, 28, 28, 1) / 255.0
  assert sorted(labels.tolist()) == list(range(6))
  assert not np.allclose(augmented[np.argsort(labels)], plain, atol=0.05)
  assert len(bundle.info.preview_images) == bundles.PREVIEW_IMAGES
  val_x, val_y = _all(bundle.validation)
  np.testing.assert_array_equal(val_y, [1, 24])
  np.testing.assert_allclose(val_x, 7 / 255.0, atol=1e-6)  # never augmented


@pytest.mark.parametrize("overrides, fragments", [
    ({"labels": [3, 30]}, ("3..30", "26 classes")),
    ({"validation_split": 1.5}, ("validation_split", "1.5")),
    ({"take": 0, "skip": 9}, ("skip=9",)),
    ({"split": "test"}, ("split", "'test'")),
], ids=["label_out_of_range", "bad_validation_split", "skip_everything",
        "unknown_split"])
def test_bad_array_data_options_name_the_value(tmp_path, overrides,
                                               fragments):
  labels = overrides.pop("labels", [1, 2, 3])
  path = _write_csv(tmp_path / "data.csv", labels)
  with pytest.raises(DataError) as error:
    _bundle("sign_language_cnn", data_path=path, **overrides)
  for fragment in fragments:
    assert fragment in str(error.value)


def test_offline_default_data_names_file_and_place(tmp_path, monkeypatch):
  def offline(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable")
  monkeypatch.setattr(download.urllib.request, "urlopen", offline)
  monkeypatch.setenv(download.CACHE_ENV, str(tmp_path))
  with pytest.raises(DataError) as error:
    _bundle("mnist_dnn")
  message = str(error.value)
  assert "mnist.npz" in message
  assert f"place it at {tmp_path / 'mnist.npz'}" in message


def test_archive_as_data_path_points_to_prepare(tmp_path):
  archive = tmp_path / "happy-or-sad.zip"
  with zipfile.ZipFile(archive, "w") as stream:
    stream.writestr("happy/a.png", b"x")
  with pytest.raises(DataError,
                     match="trainers.prepare --dataset=happy-or-sad"):
    _bundle("happy_sad_cnn", data_path=str(archive))


# -- image folders and hooks --------------------------------------------------


def _write_png(path, image):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tf.io.write_file(str(path), tf.io.encode_png(image))


def _folder(root, classes, size=8, per_class=2):
  rng = np.random.default_rng(5)
  for name in classes:
    for index in range(per_class):
      _write_png(os.path.join(root, name, f"{index}.png"),
                 rng.integers(0, 256, (size, size, 4), dtype=np.uint8))
  return str(root)


def test_folder_bundle_rejects_class_count_the_model_cannot_predict(tmp_path):
  root = _folder(tmp_path / "train", ["paper", "rock"])
  with pytest.raises(DataError, match="2 class folders.*3 classes"):
    _bundle("rps_cnn", data_path=root, image_size=8)


def _image_events(logdir):
  found = []
  for name in os.listdir(logdir):
    for event in tf.compat.v1.train.summary_iterator(
        os.path.join(logdir, name)):
      for value in event.summary.value:
        found.append((value.tag, value.tensor.string_val[:2]))
  return found


def test_augmented_grid_is_logged_once(tmp_path):
  root = _folder(tmp_path / "train", ["cats", "dogs"])
  recipe = registry.get("cats_dogs_cnn")
  hparams = dict(recipe.hparams, data_path=root, image_size=8, augment=True,
                 batch_size=2)
  data = recipe.make_data(hparams)
  assert data.train(0).element_spec[0].shape.as_list() == [None, 8, 8, 3]
  hooks = recipe.extra_hooks(hparams, data)
  assert len(hooks) == 1

  class FakeTrainer:
    writers = SummaryWriters(str(tmp_path / "run"))
    global_step = tf.Variable(0, dtype=tf.int64)

  for epoch in range(2):
    hooks[0].on_epoch_begin(FakeTrainer, epoch)
  FakeTrainer.writers.close()
  events = _image_events(tmp_path / "run" / "train")
  # 4 preview images of 8x8 (classes alternate), each + 4 augmented copies.
  assert events == [("augmented", [b"40", b"32"])]
  assert recipe.extra_hooks(dict(hparams, augment=False),
                            recipe.make_data(dict(hparams, augment=False))
                            ) == []
