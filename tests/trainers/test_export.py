"""trainers.export end to end: tiny runs exported, then served by a process
that imports only TensorFlow, compared with the trainer's own predictions."""

from __future__ import annotations

import glob
import json
import os
import struct
import subprocess
import sys
import sysconfig

import numpy as np
import pytest
import tensorflow as tf

from data.images import bundles
from data.text import graph_tokenizer
from data.text.pipelines import load_inference_encoder
from models import text
from tests import testing
from tests.trainers import runs
from trainers.common import exporting

SIZE = 40
CHECK_SCRIPT = os.path.join(os.path.dirname(__file__), "serving_check.py")
CORPUS = ("The quick brown fox jumps over the lazy dog\n"
          "A stitch in time saves nine")
# Texts of every length a subword export meets in one batch: empty, short,
# unicode never seen in training, HTML, and longer than any training text.
SUBWORD_TEXTS = ["", "good", "Café naïve 映画 — GREAT!<br />👍",
                 "The plot<br /><br />was dull... bad", "movie " * 60 + "bad",
                 "good story, great cast"]
SUBWORD_SHORT_TEXTS = ["", "bad", "ok"]  # Padded to the Conv1D's 5 steps.


def write_bmp(path, rgb: np.ndarray) -> str:
  """An uncompressed 24-bit BMP (rows bottom-up, BGR, padded to 4 bytes)."""
  height, width, _ = rgb.shape
  row_bytes = (width * 3 + 3) // 4 * 4
  pixels = b"".join(
      rgb[row, :, ::-1].tobytes().ljust(row_bytes, b"\0")
      for row in range(height - 1, -1, -1))
  header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
  info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0,
                     len(pixels), 2835, 2835, 0, 0)
  with open(path, "wb") as f:
    f.write(header + info + pixels)
  return str(path)


def image_files(root) -> list[str]:
  """RGB and RGBA PNG, gray PNG, JPEG and BMP files of odd sizes."""
  rng = np.random.default_rng(1)
  os.makedirs(root, exist_ok=True)
  rgb = rng.integers(0, 256, (53, 61, 3), dtype=np.uint8)
  rgba = rng.integers(0, 256, (30, 20, 4), dtype=np.uint8)
  gray = rng.integers(0, 256, (45, 45, 1), dtype=np.uint8)
  paths = []
  for name, encoded in (("rgb.png", tf.io.encode_png(rgb)),
                        ("rgba.png", tf.io.encode_png(rgba)),
                        ("gray.png", tf.io.encode_png(gray)),
                        ("photo.jpg", tf.io.encode_jpeg(rgb))):
    path = os.path.join(root, name)
    tf.io.write_file(path, encoded)
    paths.append(path)
  paths.append(write_bmp(os.path.join(root, "bitmap.bmp"), rgb[:17, :23]))
  return paths


def save_npy(root, name, array) -> str:
  path = os.path.join(root, f"{name}.npy")
  np.save(path, array)
  return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """Exports of every serving kind, the inputs sent and the expected
  outputs computed in-process; then one TF-only process serves them all."""
  root = str(tmp_path_factory.mktemp("export"))
  cases, expected = {}, {}

  # Image classifier (CNN), binary.
  runs.write_image_tree(f"{root}/shapes", runs.shape_images(4, SIZE))
  trainer, _, _ = runs.train_run(f"{root}/image", "happy_sad_cnn", {
      "data_path": f"{root}/shapes", "image_size": SIZE, "batch_size": 4})
  files = image_files(f"{root}/files")
  pixels = bundles.load_image_files(files, (SIZE, SIZE, 3))
  probabilities = trainer.predict(tf.data.Dataset.from_tensor_slices(
      pixels).batch(4))
  cases["image"] = {
      "export_dir": exporting.export_run(f"{root}/image", tflite=True),
      "calls": [{"signature": "serving_default",
                 "inputs": {"images": {"files": files}}},
                {"signature": "classify_pixels",
                 "inputs": {"pixels": save_npy(root, "pixels", pixels)}}],
      "tflite_input": save_npy(root, "pixels", pixels)}
  expected["image"] = probabilities

  # Text classifier (embedding + pooling), BBC CSV with stop words removed.
  csv_path = runs.write_bbc_csv(f"{root}/bbc.csv", runs.bbc_rows(30))
  trainer, _, hparams = runs.train_run(f"{root}/bbc", "bbc_embedding", {
      "data_path": csv_path, "vocab_size": 40, "max_length": 12,
      "embedding_dim": 4})
  texts = [row[1] for row in runs.bbc_rows(30)] + ["The match, AND shares!"]
  encoder = load_inference_encoder(f"{root}/bbc")
  ids = encoder.encode(graph_tokenizer.prepare_texts(
      texts, **graph_tokenizer.text_options(hparams)))
  cases["bbc"] = {
      "export_dir": exporting.export_run(f"{root}/bbc", tflite=True),
      "calls": [{"signature": "serving_default", "inputs": {
          "texts": save_npy(root, "texts", np.array(
              [t.encode() for t in texts]))}},
                {"signature": "classify_ids",
                 "inputs": {"ids": save_npy(root, "ids", ids)}}],
      "tflite_input": save_npy(root, "ids", ids)}
  expected["bbc"] = trainer.predict(tf.data.Dataset.from_tensor_slices(
      ids).batch(8))

  # Subword text classifier of any length (Conv1D k5): tokenized with
  # tensorflow-text ops in the graph, each batch padded to its longest text.
  imdb = runs.write_imdb(f"{root}/imdb", splits=("train",), per_class=8)
  trainer, _, hparams = runs.train_run(f"{root}/subword",
                                       "imdb_subwords_conv1d", {
      "data_path": imdb, "vocab_size": 60, "embedding_dim": 4,
      "batch_size": 8})
  encoder = load_inference_encoder(f"{root}/subword")
  export_dir = exporting.export_run(f"{root}/subword", tflite=True)
  for case, texts in (("subword", SUBWORD_TEXTS),
                      ("subword_short", SUBWORD_SHORT_TEXTS)):
    ids = encoder.encode(graph_tokenizer.prepare_texts(
        texts, **graph_tokenizer.text_options(hparams)))
    cases[case] = {
        "export_dir": export_dir,
        "calls": [{"signature": "serving_default", "inputs": {
            "texts": save_npy(root, f"{case}_texts", np.array(
                [t.encode() for t in texts]))}},
                  {"signature": "classify_ids",
                   "inputs": {"ids": save_npy(root, f"{case}_ids", ids)}}],
        "tflite_input": save_npy(root, f"{case}_ids", ids)}
    expected[case] = trainer.model(ids, training=False).numpy()

  # Next-word generator (bidirectional LSTM).
  with open(f"{root}/corpus.txt", "w") as f:
    f.write(CORPUS)
  trainer, data, _ = runs.train_run(f"{root}/generator", "sonnets_generator", {
      "data_path": f"{root}/corpus.txt", "embedding_dim": 8,
      "bilstm_units": 8, "lstm_units": 8, "batch_size": 16}, train_steps=3)
  generator = text.TextGenerator(
      trainer.model, data.info.tokenizer, data.info.max_length)
  prefixes = data.train(0).unbatch().map(lambda x, y: x).batch(64)
  prefix_ids = np.concatenate(list(prefixes.as_numpy_iterator()))
  cases["generator"] = {
      "export_dir": exporting.export_run(f"{root}/generator", tflite=True),
      "calls": [{"signature": "serving_default", "inputs": {
          "seed_text": save_npy(root, "seed", np.array(b"the quick")),
          "num_words": save_npy(root, "num_words", np.array(6, np.int32))}},
                {"signature": "next_token", "inputs": {
                    "ids": save_npy(root, "prefixes", prefix_ids)}}],
      "tflite_input": save_npy(root, "prefixes", prefix_ids)}
  expected["generator"] = (generator.generate("the quick", 6),
                           trainer.predict(tf.data.Dataset.from_tensor_slices(
                               prefix_ids).batch(8)))

  # Time series: dense next-value model and a seq2seq Conv1D + LSTM model.
  series = np.sin(np.arange(80, dtype=np.float32) / 5) * 10 + 20
  for name, overrides in (("series_dnn", {"window_size": 20}),
                          ("series_conv_lstm", {"window_size": 12})):
    trainer, _, hparams = runs.train_run(f"{root}/{name}", name, overrides)
    window = hparams["window_size"]
    windows = np.stack([series[i:i + window]
                        for i in range(len(series) - window + 1)])
    inputs = windows[..., None] if name == "series_conv_lstm" else windows
    outputs = trainer.predict(tf.data.Dataset.from_tensor_slices(
        inputs).batch(16))
    next_value = (outputs[:, -1, 0] if outputs.ndim == 3
                  else outputs.reshape(len(outputs), -1)[:, 0])
    cases[name] = {
        "export_dir": exporting.export_run(f"{root}/{name}", tflite=True),
        "calls": [{"signature": "serving_default", "inputs": {
            "windows": save_npy(root, f"{name}_windows", windows)}},
                  {"signature": "forecast", "inputs": {
                      "series": save_npy(root, "series", series)}}],
        "tflite_input": save_npy(root, f"{name}_windows", windows)}
    expected[name] = next_value

  cases_path = os.path.join(root, "cases.json")
  with open(cases_path, "w") as f:
    json.dump(cases, f)
  served = serve_isolated(root, cases_path)
  return cases, expected, served


def serve_isolated(root: str, cases_path: str) -> dict[str, np.ndarray]:
  """Runs serving_check.py with only TF importable (cwd outside the repo)."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  out = os.path.join(root, "served.npz")
  script = os.path.join(root, "serving_check.py")
  with open(CHECK_SCRIPT) as src, open(script, "w") as dst:
    dst.write(src.read())
  site_packages = sysconfig.get_paths()["purelib"]
  result = subprocess.run([sys.executable, "-I", "-S", script, cases_path,
                           out, site_packages],
                          cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(out, allow_pickle=True) as stored:
    return {key: stored[key] for key in stored.files}


def test_image_signatures_match_the_trainer(exported):
  _, expected, served = exported
  testing.assert_allclose(served["image/serving_default/probabilities"],
                          expected["image"], atol=1e-5)
  testing.assert_allclose(served["image/classify_pixels/probabilities"],
                          expected["image"], atol=1e-5)
  ids = (expected["image"][:, 0] >= 0.5).astype(np.int64)
  np.testing.assert_array_equal(served["image/serving_default/class_ids"],
                                ids)
  names = np.array([b"discs", b"squares"])[ids]
  np.testing.assert_array_equal(served["image/serving_default/class_names"],
                                names)


def test_text_classifier_signatures_match_the_trainer(exported):
  _, expected, served = exported
  for signature in ("serving_default", "classify_ids"):
    testing.assert_allclose(served[f"bbc/{signature}/probabilities"],
                            expected["bbc"], atol=1e-5)
  np.testing.assert_array_equal(served["bbc/serving_default/class_ids"],
                                expected["bbc"].argmax(axis=1))


def test_generator_generates_the_same_text_in_the_graph(exported):
  _, expected, served = exported
  generated, probabilities = expected["generator"]
  assert served["generator/serving_default/text"].item().decode() == generated
  assert len(generated.split()) == 2 + 6
  testing.assert_allclose(served["generator/next_token/probabilities"],
                          probabilities, atol=1e-5)


@pytest.mark.parametrize("name", ["series_dnn", "series_conv_lstm"])
def test_series_signatures_match_the_trainer(exported, name):
  _, expected, served = exported
  testing.assert_allclose(served[f"{name}/serving_default/next_value"],
                          expected[name], atol=1e-5)
  testing.assert_allclose(served[f"{name}/forecast/forecasts"],
                          expected[name], atol=1e-5)


@pytest.mark.parametrize("case", ["subword", "subword_short"])
def test_subword_signatures_match_the_trainer_on_raw_strings(exported, case):
  _, expected, served = exported
  for signature in ("serving_default", "classify_ids"):
    testing.assert_allclose(served[f"{case}/{signature}/probabilities"],
                            expected[case], atol=1e-5)
  ids = (expected[case][:, 0] >= 0.5).astype(np.int64)
  np.testing.assert_array_equal(served[f"{case}/serving_default/class_ids"],
                                ids)
  np.testing.assert_array_equal(served[f"{case}/serving_default/class_names"],
                                np.array([b"neg", b"pos"])[ids])


@pytest.mark.parametrize("case", ["image", "bbc", "subword", "subword_short",
                                  "generator", "series_dnn",
                                  "series_conv_lstm"])
def test_tflite_matches_the_trainer(exported, case):
  _, expected, served = exported
  want = expected[case][1] if case == "generator" else expected[case]
  testing.assert_allclose(served[f"{case}/tflite"].reshape(want.shape), want,
                          atol=1e-4, rtol=1e-4)


def test_export_layout_is_versioned_by_global_step(exported):
  cases, _, _ = exported
  export_dir = cases["image"]["export_dir"]
  assert os.path.basename(export_dir) == "2"  # two training steps
  assert os.path.basename(os.path.dirname(export_dir)) == "export"
  assert sorted(os.listdir(os.path.dirname(export_dir))) == ["2"]
  assert os.path.exists(os.path.join(export_dir, "model.tflite"))


def test_saved_model_cli_lists_the_signatures(exported):
  cases, _, _ = exported
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  result = subprocess.run([cli, "show", "--all", "--dir",
                           cases["bbc"]["export_dir"]],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  for fragment in ("signature_def['serving_default']",
                   "signature_def['classify_ids']", "texts", "class_names"):
    assert fragment in result.stdout


def test_export_binary_refuses_an_existing_version(exported):
  cases, _, _ = exported
  export_dir = cases["series_dnn"]["export_dir"]
  model_dir = os.path.dirname(os.path.dirname(export_dir))
  before = sorted(glob.glob(os.path.join(export_dir, "**"), recursive=True))
  result = testing.run_binary("trainers.export", f"--model_dir={model_dir}")
  assert result.returncode == 2, result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and "exists already" in lines[0], result.stderr
  assert sorted(glob.glob(os.path.join(export_dir, "**"),
                          recursive=True)) == before


def test_export_binary_writes_export_dir(exported, tmp_path):
  cases, _, _ = exported
  model_dir = os.path.dirname(os.path.dirname(cases["series_dnn"][
      "export_dir"]))
  target = tmp_path / "served" / "7"
  result = testing.run_binary("trainers.export", f"--model_dir={model_dir}",
                              f"--export_dir={target}")
  assert result.returncode == 0, result.stderr
  assert str(target) in result.stdout
  assert os.path.exists(target / "saved_model.pb")
  assert not [n for n in os.listdir(target.parent) if n != "7"]


def test_predict_with_saved_model_equals_model_dir(exported):
  cases, _, _ = exported
  export_dir = cases["image"]["export_dir"]
  model_dir = os.path.dirname(os.path.dirname(export_dir))
  files = cases["image"]["calls"][0]["inputs"]["images"]["files"]
  by_dir = testing.run_binary("trainers.predict", f"--model_dir={model_dir}",
                              *files)
  by_export = testing.run_binary("trainers.predict",
                                 f"--saved_model={export_dir}", *files)
  assert by_dir.returncode == 0 and by_export.returncode == 0, (
      by_dir.stderr + by_export.stderr)
  assert by_export.stdout == by_dir.stdout
  assert len(by_dir.stdout.splitlines()) == len(files)


@pytest.mark.parametrize("case,sentences", [
    ("bbc", [t for _, t in runs.bbc_rows(6)] + ["The striker scored!"]),
    ("subword", SUBWORD_TEXTS[1:])])  # An empty one warns with model_dir.
def test_predict_text_with_saved_model_equals_model_dir(exported, case,
                                                        sentences):
  cases, _, _ = exported
  export_dir = cases[case]["export_dir"]
  model_dir = os.path.dirname(os.path.dirname(export_dir))
  by_dir = testing.run_binary("trainers.predict_text",
                              f"--model_dir={model_dir}", *sentences)
  by_export = testing.run_binary("trainers.predict_text",
                                 f"--saved_model={export_dir}", *sentences)
  assert by_dir.returncode == 0 and by_export.returncode == 0, (
      by_dir.stderr + by_export.stderr)
  assert by_export.stdout == by_dir.stdout
  assert len(by_dir.stdout.splitlines()) == len(sentences)


def test_predict_refuses_an_export_of_another_kind(exported):
  cases, _, _ = exported
  result = testing.run_binary("trainers.predict",
                              f"--saved_model={cases['bbc']['export_dir']}",
                              cases["image"]["calls"][0]["inputs"]["images"][
                                  "files"][0])
  assert result.returncode == 2, result.stderr
  assert "serves input(s) texts, not 'images'" in result.stderr


def test_train_with_export_writes_the_final_step(tmp_path):
  result = testing.run_binary("trainers.train", "--model=line",
                              f"--model_dir={tmp_path}", "--train_steps=3",
                              "--export")
  assert result.returncode == 0, result.stderr
  export_dir = tmp_path / "export" / "3"
  assert (export_dir / "saved_model.pb").exists()
  assert f"SavedModel written to {export_dir}" in result.stdout
  loaded = tf.saved_model.load(str(export_dir))
  outputs = loaded.signatures["serving_default"](
      inputs=tf.constant([[1.0], [2.0]]))["outputs"]
  assert outputs.shape == (2, 1)
