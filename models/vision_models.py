"""The course's computer-vision architectures, built from engine modules.

Forward passes only; `models/vision.py` registers them with their data,
loss and optimizer. Every convolution is 3x3 with ReLU and every pooling
2x2, as in the course's notebooks.

Example:
  model = build_mnist_cnn({})
  model.build([28, 28, 1])
  probabilities = model(images)  # [B, 10]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from engine.module import Module
from engine.modules.basic import Dropout, Flatten
from engine.modules.conv import Conv2D
from engine.modules.dense import Dense
from engine.modules.pool import MaxPool2D
from engine.modules.sequential import Sequential

MNIST_CLASSES = 10
SIGN_LANGUAGE_CLASSES = 26
RPS_CLASSES = 3


def conv_pool_blocks(filters: Sequence[int]) -> list[Module]:
  """One Conv2D(f, 3x3, relu) + MaxPool2D(2) pair per entry of `filters`."""
  layers: list[Module] = []
  for count in filters:
    layers.append(Conv2D(count, 3, activation="relu"))
    layers.append(MaxPool2D(2))
  return layers


def classifier_head(hidden_units: int, num_outputs: int) -> list[Module]:
  """Flatten, Dense(hidden, relu), then sigmoid (1 output) or softmax."""
  activation = "sigmoid" if num_outputs == 1 else "softmax"
  return [Flatten(), Dense(hidden_units, activation="relu"),
          Dense(num_outputs, activation=activation)]


def build_mnist_dnn(hparams: Mapping[str, Any]) -> Sequential:
  """Flatten -> Dense 128 relu -> Dense 10 softmax (MNIST, Fashion-MNIST)."""
  del hparams  # The input size comes from the first batch.
  return Sequential(classifier_head(128, MNIST_CLASSES), name="mnist_dnn")


def build_mnist_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 64 + pool -> Flatten -> Dense 128 relu -> Dense 10 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64]) + classifier_head(
      128, MNIST_CLASSES), name="mnist_cnn")


def build_fashion_mnist_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Two (Conv 64 + pool) blocks -> Dense 128 relu -> Dense 10 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64]) + classifier_head(
      128, MNIST_CLASSES), name="fashion_mnist_cnn")


def build_small_binary_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 16, 32, 64 (each + pool) -> Dense 512 relu -> Dense 1 sigmoid.

  The happy-or-sad and cats-vs-dogs model, on 150x150x3 by default.
  """
  del hparams
  return Sequential(conv_pool_blocks([16, 32, 64]) + classifier_head(512, 1),
                    name="binary_cnn")


def build_horse_human_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Five conv + pool blocks (16, 32, 64, 64, 64) -> Dense 512 -> sigmoid."""
  del hparams
  return Sequential(conv_pool_blocks([16, 32, 64, 64, 64])
                    + classifier_head(512, 1), name="horse_human_cnn")


def build_rps_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Conv 64, 64, 128, 128 (each + pool) -> Dropout 0.5 -> Dense 512 ->
  Dense 3 softmax (rock, paper, scissors)."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64, 128, 128]) + [
      Flatten(), Dropout(0.5), Dense(512, activation="relu"),
      Dense(RPS_CLASSES, activation="softmax")], name="rps_cnn")


def build_sign_language_cnn(hparams: Mapping[str, Any]) -> Sequential:
  """Two (Conv 64 + pool) blocks -> Dense 128 relu -> Dense 26 softmax."""
  del hparams
  return Sequential(conv_pool_blocks([64, 64]) + classifier_head(
      128, SIGN_LANGUAGE_CLASSES), name="sign_language_cnn")
