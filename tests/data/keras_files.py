"""Writes Keras weight files for tests, without any download.

`write_keras2_weights` writes the Keras 2 layout the way Keras 2.x's
`save_weights` did (and as the course's InceptionV3 file is laid out):
top-level `layer_names`, one group per layer with `weight_names` such as
`conv2d_1/kernel:0` (Keras 2.0 numbered names from 1: `name_offset=1`).
"""

from __future__ import annotations

import re

import h5py
import numpy as np


def _renamed(name: str, offset: int) -> str:
  if not offset:
    return name
  match = re.match(r"^(.*?)(?:_(\d+))?$", name)
  return f"{match.group(1)}_{int(match.group(2) or 0) + offset}"


def write_keras2_weights(model, path: str, name_offset: int = 0,
                         replace: dict | None = None) -> None:
  """Saves `model`'s weights in the Keras 2 HDF5 layout.

  Args:
    model: a Keras model.
    path: the .h5 file to write.
    name_offset: added to every weighted layer's number (conv2d -> conv2d_1 at 1).
    replace: {keras layer name: [arrays]} written instead of its weights.
  """
  replace = replace or {}
  with h5py.File(path, "w") as f:
    names = [_renamed(layer.name, name_offset) if layer.weights
             else layer.name for layer in model.layers]
    f.attrs["layer_names"] = [n.encode("utf8") for n in names]
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.1.5"
    for layer, name in zip(model.layers, names):
      group = f.create_group(name)
      values = replace.get(layer.name,
                           [np.asarray(w) for w in layer.weights])
      weight_names = [f"{name}/{w.path.split('/')[-1]}:0"
                      for w in layer.weights]
      group.attrs["weight_names"] = [n.encode("utf8") for n in weight_names]
      for weight_name, value in zip(weight_names, values):
        group.create_dataset(weight_name, data=value)
