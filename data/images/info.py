"""What an image bundle says about its data."""

from __future__ import annotations

import dataclasses

import numpy as np

from data.bundle import DataInfo


@dataclasses.dataclass
class ImageInfo(DataInfo):
  """The `info` of every image bundle.

  Attributes:
    label_mode: "sparse", "binary" or "categorical".
    image_size: (height, width) of the model's input.
    channels: 1 (gray) or 3 (RGB).
    num_classes: outputs the labels need (largest label + 1 for CSVs).
    num_examples: training images.
    num_validation: validation images.
    skipped: (path, reason) of files left out of a folder.
    preview_images: uint8 [N, H, W, C] training images for the augmentation
      grid (None when not augmenting).
  """

  label_mode: str = "sparse"
  image_size: tuple[int, int] = (0, 0)
  channels: int = 1
  num_classes: int = 0
  num_examples: int = 0
  num_validation: int = 0
  skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
  preview_images: np.ndarray | None = None

  @property
  def input_shape(self) -> tuple[int, int, int]:
    """(height, width, channels) of one image."""
    return (*self.image_size, self.channels)
