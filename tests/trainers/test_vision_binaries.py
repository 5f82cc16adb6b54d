"""Vision binaries end to end on tiny generated images: train to the
threshold stop, predict, visualize, evaluate, prepare, pipeline benchmark."""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from data.images import bundles
from tests import testing
from tests.trainers import runs

SIZE = 32
PER_CLASS = 8


def shape_images(size: int = SIZE, count: int = PER_CLASS, seed: int = 0):
  """Bright discs and squares on dark backgrounds, same centres and radii."""
  rng = np.random.default_rng(seed)
  rows, cols = np.mgrid[:size, :size]
  images = {"discs": [], "squares": []}
  for _ in range(count):
    cx, cy = rng.uniform(size * 0.35, size * 0.65, 2)
    radius = rng.uniform(size * 0.19, size * 0.28)
    background = rng.integers(0, 60, 3)
    foreground = rng.integers(180, 256, 3)
    disc = (cols - cx) ** 2 + (rows - cy) ** 2 <= radius ** 2
    square = (abs(cols - cx) <= radius) & (abs(rows - cy) <= radius)
    for name, mask in (("discs", disc), ("squares", square)):
      images[name].append(
          np.where(mask[..., None], foreground, background).astype(np.uint8))
  return images


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """happy_sad_cnn trained on discs vs squares until its 99.9% stop."""
  root = tmp_path_factory.mktemp("vision")
  paths = runs.write_image_tree(str(root / "shapes"), shape_images())
  model_dir = root / "run"
  result = testing.run_binary(
      "trainers.train", "--model=happy_sad_cnn", f"--model_dir={model_dir}",
      f"--data_path={root / 'shapes'}", f"--image_size={SIZE}",
      "--batch_size=4", "--epochs=40", "--steps_per_loop=4")
  return model_dir, paths, result


def test_happy_sad_reaches_full_accuracy_and_threshold_stops(trained):
  model_dir, _, result = trained
  assert result.returncode == 0, result.stderr
  assert "Found 16 images belonging to 2 classes." in result.stdout
  metrics = json.loads((model_dir / "metrics.json").read_text())["train"]
  assert metrics["train"]["accuracy"] == 1.0
  assert metrics["stop_reason"].startswith("reached accuracy=1.0000")
  assert metrics["epochs"] < 40
  classes = json.loads((model_dir / bundles.CLASSES_FILE).read_text())
  assert classes["class_names"] == ["discs", "squares"]
  assert classes["input_shape"] == [SIZE, SIZE, 3]


def _restored_outputs(model_dir, files):
  from trainers.common import session
  recipe, hparams = session.load_run(str(model_dir))
  spec = session.input_spec(recipe, hparams)
  trainer = session.restored_trainer(recipe, hparams, str(model_dir), spec)
  images = bundles.load_image_files(files, spec[0].shape[1:])
  return trainer.predict(tf.data.Dataset.from_tensors(images))[:, 0]


def test_predict_prints_class_and_probability(trained):
  model_dir, paths, _ = trained
  files = [paths["discs"][0], paths["squares"][1]]
  result = testing.run_binary("trainers.predict", f"--model_dir={model_dir}",
                              *files)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  expected = []
  for path, sigmoid in zip(files, _restored_outputs(model_dir, files)):
    name, probability = (("squares", sigmoid) if sigmoid > 0.5
                         else ("discs", 1 - sigmoid))
    expected.append(f"{path}: {name} ({probability:.4f})")
  assert lines == expected


def test_predict_works_after_the_training_images_are_gone(trained, tmp_path):
  model_dir, paths, _ = trained
  image = tmp_path / "disc.png"
  image.write_bytes(open(paths["discs"][0], "rb").read())
  with testing.moved_away(model_dir.parent / "shapes"):
    result = testing.run_binary("trainers.predict",
                                f"--model_dir={model_dir}", str(image))
  assert result.returncode == 0, result.stderr
  assert result.stdout.startswith(f"{image}: discs (")


def test_predict_takes_a_folder_and_skips_what_is_not_an_image(trained,
                                                                tmp_path):
  model_dir, paths, _ = trained
  folder = tmp_path / "photos"
  (folder / "more").mkdir(parents=True)
  (folder / "b.png").write_bytes(open(paths["discs"][0], "rb").read())
  (folder / "more" / "a.png").write_bytes(open(paths["squares"][0], "rb").read())
  (folder / "broken.jpg").write_bytes(b"not an image")
  (folder / ".hidden.png").write_bytes(b"ignored")
  result = testing.run_binary("trainers.predict", f"--model_dir={model_dir}",
                              str(folder))
  assert result.returncode == 0, result.stderr
  assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
      str(folder / "b.png"), str(folder / "more" / "a.png")]
  assert "skipped 1 of 3 files: cannot decode " in result.stderr
  assert "function_node" not in result.stderr
  strict = testing.run_binary("trainers.predict", f"--model_dir={model_dir}",
                              "--strict_data", str(folder))
  assert strict.returncode == 2
  error, = strict.stderr.strip().splitlines()
  assert error.startswith(f"error: cannot decode {folder / 'broken.jpg'} as "
                          "PNG, JPEG, GIF or BMP (Unknown image file format")


def _image_sizes(logdir):
  sizes = {}
  for name in os.listdir(logdir):
    for event in tf.compat.v1.train.summary_iterator(
        os.path.join(logdir, name)):
      for value in event.summary.value:
        width, height = value.tensor.string_val[:2]
        sizes[value.tag] = (int(height), int(width))
  return sizes


def test_visualize_writes_feature_maps_and_filters(trained):
  model_dir, paths, _ = trained
  result = testing.run_binary("trainers.visualize", f"--model_dir={model_dir}",
                              f"--image={paths['discs'][2]}")
  assert result.returncode == 0, result.stderr
  assert str(model_dir / "visualize") in result.stdout
  # 32 -> conv 30x30x16 -> pool 15 -> conv 13x13x32 -> pool 6 -> conv 4x4x64
  # -> pool 2; C maps tile into ceil(sqrt(C)) columns.
  assert _image_sizes(model_dir / "visualize") == {
      "feature_maps/00_conv2d": (4 * 30, 4 * 30),
      "feature_maps/01_max_pooling2d": (4 * 15, 4 * 15),
      "feature_maps/02_conv2d": (6 * 13, 6 * 13),
      "feature_maps/03_max_pooling2d": (6 * 6, 6 * 6),
      "feature_maps/04_conv2d": (8 * 4, 8 * 4),
      "feature_maps/05_max_pooling2d": (8 * 2, 8 * 2),
      "filters/00_conv2d": (4 * 3 * 8, 4 * 3 * 8),
  }


def test_evaluate_writes_confusion_matrix(trained):
  model_dir, _, _ = trained
  result = testing.run_binary("trainers.evaluate", f"--model_dir={model_dir}")
  assert result.returncode == 0, result.stderr
  evaluated = json.loads((model_dir / "metrics.json").read_text())["evaluate"]
  matrix = np.array(evaluated["confusion_matrix"])
  assert evaluated["class_names"] == ["discs", "squares"]
  assert matrix.sum() == 2 * PER_CLASS
  assert np.trace(matrix) / matrix.sum() == pytest.approx(
      evaluated["accuracy"])


def test_prepare_extracts_safely_and_splits_local_zip(tmp_path):
  archive = tmp_path / "pets.zip"
  jpeg = tf.io.encode_jpeg(np.full([6, 6, 3], 90, np.uint8)).numpy()
  with zipfile.ZipFile(archive, "w") as stream:
    stream.writestr("readme.txt", "not an image")
    stream.writestr("../evil.txt", "escape")
    for name in ("Cat", "Dog"):
      for index in range(5):
        stream.writestr(f"PetImages/{name}/{index}.jpg", jpeg)
    stream.writestr("PetImages/Cat/666.jpg", b"")
  dest = tmp_path / "out"
  result = testing.run_binary(
      "trainers.prepare", "--dataset=cats-vs-dogs", f"--archive={archive}",
      f"--dest={dest}", "--split_ratio=0.8", "--seed=1")
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert "666.jpg is zero length, so ignoring." in out
  assert "refused 1: ../evil.txt" in out
  assert re.search(r"pets\.zip: sha256 [0-9a-f]{64}", out)
  assert f"--data_path={dest / 'training'}" in out
  assert f"--hparam=validation_dir={dest / 'testing'}" in out
  assert not (tmp_path / "evil.txt").exists()
  for name in ("Cat", "Dog"):
    training = set(os.listdir(dest / "training" / name))
    testing_files = set(os.listdir(dest / "testing" / name))
    assert (len(training), len(testing_files)) == (4, 1)
    assert training | testing_files == {f"{i}.jpg" for i in range(5)}


def test_pipeline_benchmark_prints_both_rates_and_ratio(trained):
  model_dir, paths, _ = trained
  data_dir = os.path.dirname(os.path.dirname(paths["discs"][0]))
  result = testing.run_binary(
      "trainers.pipeline_benchmark", f"--data_path={data_dir}",
      f"--image_size={SIZE}", "--batch_size=4", "--bench_epochs=1",
      "--model_steps=2")
  assert result.returncode == 0, result.stderr
  rates = dict(re.findall(r"^(.*?):\s+([0-9.]+) images/sec", result.stdout,
                          re.M))
  pipeline = float(rates["augmented pipeline"])
  model = float(rates["cats_dogs_cnn training"])
  ratio = float(re.search(r"^ratio: ([0-9.]+)$", result.stdout, re.M)[1])
  assert pipeline > 0 and model > 0
  # The rates are printed to 0.1 and the ratio to 0.01.
  assert ratio == pytest.approx(pipeline / model, rel=0.02, abs=0.006)
