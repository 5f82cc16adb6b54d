"""Synthetic data sets and tiny trained runs shared by the export and
test-set evaluation tests (no network, no /work/shared)."""

from __future__ import annotations

import csv
import gzip
import os
import struct

import numpy as np
import tensorflow as tf

from data.bundle import model_hparams
from models import registry
from trainers.common import session

BBC_CATEGORIES = ("sport", "business", "politics", "tech", "entertainment")
BBC_WORDS = {
    "sport": ("match", "goal", "striker", "league", "coach"),
    "business": ("shares", "market", "profit", "bank", "economy"),
    "politics": ("minister", "election", "party", "vote", "labour"),
    "tech": ("software", "phone", "users", "digital", "network"),
    "entertainment": ("film", "actor", "music", "award", "star"),
}
# Stop words, punctuation, tabs, odd spaces and mixed case, so the in-graph
# cleaning is exercised on every text.
NOISE = ("The", "of", "and", "it's", "you're", "U.K.", "(said)", "--", "£5m",
         "a\tb", "x\xa0y", "Café", "we've,", "\"quoted\"", "it", "is")
IMDB_FILLER = ("movie", "plot", "actor", "scene", "story", "film", "cast",
               "music", "The", "and", "it's", "Great!", "<br />", "dull...")


def bbc_rows(count: int, seed: int = 0) -> list[tuple[str, str]]:
  """(category, text) rows whose topic words give the category."""
  rng = np.random.default_rng(seed)
  rows = []
  for index in range(count):
    category = BBC_CATEGORIES[index % len(BBC_CATEGORIES)]
    words = list(rng.choice(BBC_WORDS[category], size=5))
    words += list(rng.choice(NOISE, size=int(rng.integers(3, 9))))
    rng.shuffle(words)
    rows.append((category, " ".join(words)))
  return rows


def write_bbc_csv(path, rows) -> str:
  """A BBC-format CSV: `category,text` with a header."""
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(["category", "text"])
    writer.writerows(rows)
  return str(path)


def write_imdb(root, splits=("train", "test"), per_class: int = 12,
               seed: int = 0) -> str:
  """An aclImdb tree whose label is given by one word; returns aclImdb/."""
  rng = np.random.default_rng(seed)
  for split in splits:
    for label, word in (("pos", "good"), ("neg", "bad")):
      folder = os.path.join(root, "aclImdb", split, label)
      os.makedirs(folder, exist_ok=True)
      for i in range(per_class):
        words = list(rng.choice(IMDB_FILLER, size=int(rng.integers(4, 14))))
        words.insert(int(rng.integers(0, len(words) + 1)), word)
        with open(os.path.join(folder, f"{i}_{7 if label == 'pos' else 2}"
                               ".txt"), "w", encoding="utf-8") as f:
          f.write(" ".join(words))
  return os.path.join(root, "aclImdb")


def shape_images(count: int, size: int, seed: int = 0
                 ) -> dict[str, list[np.ndarray]]:
  """uint8 RGB discs and squares, `count` of each."""
  rng = np.random.default_rng(seed)
  rows, cols = np.mgrid[:size, :size]
  images = {"discs": [], "squares": []}
  for _ in range(count):
    cx, cy = rng.integers(size // 3, 2 * size // 3, 2)
    radius = int(rng.integers(size // 6, size // 4))
    background = rng.integers(0, 60, 3)
    foreground = rng.integers(180, 256, 3)
    disc = (cols - cx) ** 2 + (rows - cy) ** 2 <= radius ** 2
    square = (abs(cols - cx) <= radius) & (abs(rows - cy) <= radius)
    for name, mask in (("discs", disc), ("squares", square)):
      images[name].append(
          np.where(mask[..., None], foreground, background).astype(np.uint8))
  return images


def write_image_tree(root, images) -> dict[str, list[str]]:
  """PNG files root/<class>/<i>.png; returns class -> paths."""
  paths = {}
  for name, pictures in images.items():
    os.makedirs(os.path.join(root, name), exist_ok=True)
    paths[name] = []
    for index, picture in enumerate(pictures):
      path = os.path.join(root, name, f"{index}.png")
      tf.io.write_file(path, tf.io.encode_png(picture))
      paths[name].append(path)
  return paths


def write_idx_split(directory, split: str, images: np.ndarray,
                    labels: np.ndarray) -> str:
  """MNIST-format gzipped IDX files of one split."""
  os.makedirs(directory, exist_ok=True)
  for kind, array, magic in (("images-idx3", images, 0x0803),
                             ("labels-idx1", labels, 0x0801)):
    header = struct.pack(">I", magic) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    with gzip.open(os.path.join(directory, f"{split}-{kind}-ubyte.gz"),
                   "wb") as stream:
      stream.write(header + array.astype(np.uint8).tobytes())
  return str(directory)


def digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Random 28x28 uint8 images and labels 0..9."""
  rng = np.random.default_rng(seed)
  return (rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
          (np.arange(count) % 10).astype(np.uint8))


def prepared_run(model_dir, name: str, overrides: dict):
  """Sets up a run as trainers.train does, in-process: config, artifacts
  and input spec written to model_dir, the trainer built.

  Returns:
    (recipe, trainer, data bundle, hparams).
  """
  session.set_seeds(0)
  recipe = registry.get(name)
  hparams = session.resolve_hparams(recipe, overrides)
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  session.write_config(str(model_dir), recipe.name, hparams)
  session.write_artifacts(str(model_dir), data.artifacts)
  session.write_input_spec(str(model_dir), data.element_spec)
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(),
                                 str(model_dir), data_info=data.info,
                                 print_fn=None, histogram_every=10**9)
  return recipe, trainer, data, hparams


def train_run(model_dir, name: str, overrides: dict, train_steps: int = 2):
  """Trains like trainers.train, in-process, for a few steps.

  Returns:
    (trainer, data bundle, hparams).
  """
  _, trainer, data, hparams = prepared_run(model_dir, name, overrides)
  trainer.fit(data.train, train_steps=train_steps,
              steps_per_epoch=data.steps_per_epoch)
  return trainer, data, hparams
