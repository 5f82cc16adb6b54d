"""Reads Keras weight files (HDF5) with h5py: arrays only, nothing unpickled.

Two layouts are understood:

* Keras 2 (`model.save_weights("w.h5")`, `model.save("m.h5")`, and the
  pretrained files of `keras.applications`, e.g. the course's
  `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`): one HDF5 group
  per layer, listed in order by the `layer_names` attribute (of the file or
  of its `model_weights` group); each layer group lists its datasets in the
  `weight_names` attribute (`conv2d_1/kernel:0`, `batch_normalization/beta:0`
  ...).
* Keras 3 (`model.save_weights("w.weights.h5")`): `layers/<class>[_k]/vars/0,
  1, ...`, where `<class>` is the layer's class in snake case, `k` counts
  the layers of that class, and the `vars` group keeps the layer's name in
  its `name` attribute. Nested models appear as `layers/<model>/layers/...`.

Each layer comes back as a `KerasLayer`: its Keras name, its kind (conv2d,
conv1d, dense, batch_normalization, embedding) and its arrays in Keras's
variable order (kernel, bias; gamma, beta, moving_mean, moving_variance).
`read_layers` returns them per kind in CREATION order: Keras names layers
`conv2d`, `conv2d_1`, ... as they are created, while both layouts list them
in graph order, which for a multi-branch network (InceptionV3) differs.
Layers that hold no weights (pooling, activation, concatenate) are skipped.

Example:

  layers = read_layers("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
  layers["conv2d"][0].arrays[0].shape     # (3, 3, 3, 32)
"""

from __future__ import annotations

import dataclasses
import os
import re

import numpy as np
import tensorflow as tf

from data import catalog
from data import download
from data.errors import DataError

KINDS = ("conv1d", "conv2d", "dense", "batch_normalization", "embedding")
_BN_ORDER = ("gamma", "beta", "moving_mean", "moving_variance")
_SUFFIX = re.compile(r"^(.*?)(?:_(\d+))?$")


@dataclasses.dataclass(frozen=True)
class KerasLayer:
  """The weights of one Keras layer.

  Attributes:
    name: the layer's Keras name, e.g. "conv2d_5".
    kind: one of KINDS.
    arrays: the weights in Keras's order (kernel, bias / gamma, beta,
      moving_mean, moving_variance / embeddings).
    weight_names: what the file calls them ("kernel", "beta", or "0", "1"
      in a Keras 3 file).
  """

  name: str
  kind: str
  arrays: tuple[np.ndarray, ...]
  weight_names: tuple[str, ...]


def _h5py():
  try:
    import h5py  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover - h5py is a dependency
    raise DataError("reading Keras weights needs h5py; pip install "
                    "'h5py>=3.10'") from None
  return h5py


def _text(value) -> str:
  return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _short(weight_name: str) -> str:
  """'mixed/conv2d_1/kernel:0' -> 'kernel'."""
  return weight_name.split("/")[-1].split(":")[0]


# -- Keras 2 layout -------------------------------------------------------------


def _keras2_kind(path: str, name: str, names: list[str],
                 arrays: list[np.ndarray]) -> str:
  if "moving_mean" in names:
    return "batch_normalization"
  if names == ["embeddings"]:
    return "embedding"
  if "kernel" in names and not any("recurrent" in n or "depthwise" in n
                                   for n in names):
    rank = arrays[names.index("kernel")].ndim
    kind = {2: "dense", 3: "conv1d", 4: "conv2d"}.get(rank)
    if kind:
      return kind
  raise DataError(f"{path}: layer {name!r} has weights {names} of a kind "
                  f"the importer does not map (supported: {', '.join(KINDS)})")


def _keras2_arrays(kind: str, names: list[str], arrays: list[np.ndarray]):
  if kind != "batch_normalization":
    return names, arrays
  order = [n for n in _BN_ORDER if n in names]
  return order, [arrays[names.index(n)] for n in order]


def _read_keras2(path: str, group) -> list[KerasLayer]:
  layers = []
  for raw in group.attrs["layer_names"]:
    name = _text(raw)
    layer_group = group[name]
    weight_names = [_text(n) for n in layer_group.attrs.get(
        "weight_names", [])]
    if not weight_names:
      continue
    try:
      arrays = [np.asarray(layer_group[n]) for n in weight_names]
    except KeyError as error:
      raise DataError(f"{path}: layer {name!r} lists weights {weight_names} "
                      f"but lacks one ({error})") from None
    short = [_short(n) for n in weight_names]
    kind = _keras2_kind(path, name, short, arrays)
    short, arrays = _keras2_arrays(kind, short, arrays)
    layers.append(KerasLayer(name, kind, tuple(arrays), tuple(short)))
  return layers


# -- Keras 3 layout -------------------------------------------------------------


def _index(key: str) -> tuple[str, int]:
  """'conv2d_12' -> ('conv2d', 12); 'conv2d' -> ('conv2d', 0)."""
  match = _SUFFIX.match(key)
  return match.group(1), int(match.group(2) or 0)


def _has_arrays(group) -> bool:
  """True if `group` or any group below it holds a dataset."""
  found = []
  group.visititems(lambda _, item: found.append(True) if hasattr(
      item, "shape") else None)
  return bool(found)


def _read_keras3(path: str, layers_group, prefix: str = "layers"
                 ) -> list[KerasLayer]:
  layers = []
  for key in sorted(layers_group, key=_index):
    entry = layers_group[key]
    if "layers" in entry:
      layers.extend(_read_keras3(path, entry["layers"], f"{prefix}/{key}"))
      continue
    if not _has_arrays(entry):
      continue
    kind, _ = _index(key)
    variables = entry.get("vars")
    if kind not in KINDS or variables is None or not len(variables):
      raise DataError(f"{path}: layer {prefix}/{key} is a {kind!r}, a kind "
                      f"the importer does not map (supported: "
                      f"{', '.join(KINDS)})")
    order = sorted(variables, key=int)
    arrays = tuple(np.asarray(variables[k]) for k in order)
    name = _text(variables.attrs.get("name", key))
    layers.append(KerasLayer(name, kind, arrays, tuple(order)))
  return layers


# -- both -------------------------------------------------------------------------


def _creation_order(layers: list[KerasLayer]) -> list[KerasLayer]:
  """Sorted by the number Keras appended to the name, when all have one
  shared prefix (auto-named layers); else the file's order is kept."""
  parsed = [_SUFFIX.match(layer.name) for layer in layers]
  if len({m.group(1) for m in parsed}) != 1:
    return layers
  numbers = [int(m.group(2) or 0) for m in parsed]
  if len(set(numbers)) != len(numbers):
    return layers
  return [layer for _, layer in sorted(zip(numbers, layers),
                                       key=lambda pair: pair[0])]


def read_layers(path: str) -> dict[str, list[KerasLayer]]:
  """The weighted layers of a Keras weights file, per kind, creation order.

  Args:
    path: a Keras 2 `.h5` (weights or whole model) or Keras 3 `.weights.h5`.

  Returns:
    kind -> [KerasLayer, ...] (kinds without layers are absent).

  Raises:
    DataError: the file is missing, not HDF5, in neither layout, or holds a
      layer kind that cannot be mapped.
  """
  h5py = _h5py()
  if not os.path.isfile(path):
    raise DataError(f"Keras weights file {path} does not exist")
  try:
    handle = h5py.File(path, "r")
  except OSError as error:
    raise DataError(f"{path} is not an HDF5 Keras weights file "
                    f"({error})") from None
  with handle:
    if "layer_names" in handle.attrs:
      layers = _read_keras2(path, handle)
    elif "model_weights" in handle and (
        "layer_names" in handle["model_weights"].attrs):
      layers = _read_keras2(path, handle["model_weights"])
    elif "layers" in handle:
      layers = _read_keras3(path, handle["layers"])
    else:
      raise DataError(
          f"{path} is neither a Keras 2 weights file (no 'layer_names' "
          f"attribute) nor a Keras 3 .weights.h5 (no 'layers' group); top "
          f"level holds {sorted(handle)}")
  by_kind: dict[str, list[KerasLayer]] = {}
  for layer in layers:
    by_kind.setdefault(layer.kind, []).append(layer)
  return {kind: _creation_order(items) for kind, items in by_kind.items()}


def locate_weights_file(path: str, catalog_entry: str) -> str:
  """The weights file to read: `path` if given, else the catalog entry's
  cached download.

  Raises:
    DataError: `path` does not exist, or the download fails (offline: the
      message names the file and where to put it).
  """
  if not path:
    return download.fetch_entry(catalog_entry)
  if not tf.io.gfile.exists(path):
    raise DataError(f"pretrained_weights={path} does not exist; give the "
                    f"path of {catalog.get(catalog_entry).filename}")
  return path
