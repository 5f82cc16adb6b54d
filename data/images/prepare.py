"""The course's vision datasets: fetch, verify, extract safely, split.

`prepare(name)` turns a catalog download (or an archive the user already
has) into folders a model trains on, and says where they are:

* "folders" datasets ship as zips of class sub-folders (happy-or-sad,
  horse-or-human, rps, cats-and-dogs-filtered): each zip is extracted into
  `dest/<catalog name>/` and the class root inside it is found (single
  wrapper folders such as `rps/` are descended into);
* "split" datasets (cats-vs-dogs: Microsoft's PetImages, or any zip of one
  folder per class) are extracted and each class is split by
  `data.images.split.split_data` into `dest/training/<class>` and
  `dest/testing/<class>`;
* "file" datasets are single files used as they are (mnist.npz), "files"
  datasets a folder of files (the Fashion-MNIST IDX files), and "csv_zip"
  (Sign Language MNIST) a zip holding a training and a test CSV.

Extraction and splitting leave a marker file, so a second call with the
same archive (or the same ratio and seed) does no work again. The models'
default data (no `--data_path`) goes through the same function, so offline
the user gets the downloader's one-line error naming the file and where to
place it.

Example:
  prepared = prepare("cats-vs-dogs", archives=["/tmp/PetImages.zip"],
                     dest="/tmp/cats-v-dogs", split_ratio=0.9, seed=42)
  print(prepared.data_path, prepared.validation_path)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Sequence

from data import archives as archives_lib
from data import catalog
from data import download
from data.errors import DataError
from data.images.image_folder import IMAGE_EXTENSIONS
from data.images.split import split_data

KINDS = ("folders", "split", "file", "files", "csv_zip")
EXTRACTED_MARKER = ".tfpractice-extracted"
SPLIT_MARKER = ".tfpractice-split"
_IGNORED = ("__MACOSX",)


@dataclasses.dataclass(frozen=True)
class Layout:
  """How one dataset becomes training (and validation) data.

  Attributes:
    name: the `--dataset` name of trainers.prepare.
    entries: catalog names of the files to fetch, in order.
    kind: one of `KINDS` (see the module docstring).
    model: the registered model that trains on it.
    train: (entry index, sub-folder of its class root) of the training
      folder, for "folders" datasets.
    validation: the same for the validation folder, or None.
    csv_names: (training, test) CSV file names, for "csv_zip".
  """

  name: str
  entries: tuple[str, ...]
  kind: str
  model: str
  train: tuple[int, str] = (0, "")
  validation: tuple[int, str] | None = None
  csv_names: tuple[str, str] = ("", "")

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"Layout {self.name}: kind must be one of {KINDS}, "
                       f"got {self.kind!r}")


@dataclasses.dataclass(frozen=True)
class Prepared:
  """Where a prepared dataset's data now is.

  Attributes:
    data_path: the model's `--data_path`.
    validation_path: the validation folder or file, or None.
    validation_key: the hparam that takes `validation_path`
      ("validation_dir" or "validation_path"), or None.
    model: the model that trains on it.
  """

  data_path: str
  validation_path: str | None
  validation_key: str | None
  model: str

  def command(self) -> str:
    """The trainers.train command line that uses this data."""
    line = (f"python -m trainers.train --model={self.model} "
            f"--data_path={self.data_path}")
    if self.validation_path:
      line += f" --hparam={self.validation_key}={self.validation_path}"
    return line


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("happy-or-sad", ("happy-or-sad",), "folders", "happy_sad_cnn"),
    Layout("horse-or-human", ("horse-or-human", "validation-horse-or-human"),
           "folders", "horse_human_cnn", validation=(1, "")),
    Layout("rps", ("rps", "rps-test-set"), "folders", "rps_cnn",
           validation=(1, "")),
    Layout("cats-and-dogs-filtered", ("cats-and-dogs-filtered",), "folders",
           "cats_dogs_cnn", train=(0, "train"),
           validation=(0, "validation")),
    Layout("cats-vs-dogs", ("kaggle-cats-and-dogs",), "split",
           "cats_dogs_cnn"),
    Layout("mnist", ("mnist-npz",), "file", "mnist_cnn"),
    Layout("fashion-mnist", tuple(
        f"fashion-mnist-{stem}" for stem in (
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
           "files", "fashion_mnist_cnn"),
    Layout("sign-language-mnist", ("sign-language-mnist",), "csv_zip",
           "sign_language_cnn",
           csv_names=("sign_mnist_train.csv", "sign_mnist_test.csv")),
)}


def get_layout(name: str) -> Layout:
  """The layout called `name`.

  Raises:
    DataError: unknown name (the message lists the known ones).
  """
  if name not in LAYOUTS:
    raise DataError(f"unknown dataset {name!r}; known datasets: "
                    f"{', '.join(sorted(LAYOUTS))}")
  return LAYOUTS[name]


def default_dest(name: str, cache_dir: str | None = None) -> str:
  """Where `prepare` puts a dataset unless told otherwise."""
  return os.path.join(download.resolve_cache_dir(cache_dir), "extracted",
                      name)


def prepare(name: str, archives: Sequence[str] = (), dest: str | None = None,
            split_ratio: float = 0.9, seed: int = 0,
            cache_dir: str | None = None,
            say: Callable[[str], None] | None = print,
            limits: archives_lib.ExpansionLimits | None = None) -> Prepared:
  """Fetches (or takes), verifies, extracts and splits one dataset.

  Args:
    name: a key of `LAYOUTS`, e.g. "happy-or-sad" or "cats-vs-dogs".
    archives: local files to use instead of downloading, one per catalog
      entry of the dataset, in the layout's order.
    dest: output folder (default `default_dest(name)`).
    split_ratio: training fraction for "split" datasets.
    seed: shuffle seed for "split" datasets.
    cache_dir: the download cache (see `data.download.resolve_cache_dir`).
    say: where progress lines go (None: silent).
    limits: how far archives may expand (default: ExpansionLimits()).

  Returns:
    A `Prepared` naming the model's data_path and validation data.

  Raises:
    DataError: unknown dataset, a wrong number of archives, a checksum
      mismatch, an unreadable archive, or an archive without the expected
      folders or files; offline, the downloader's message naming the file
      and where to place it.
  """
  layout = get_layout(name)
  say = say or (lambda _: None)
  dest = os.path.abspath(dest or default_dest(name, cache_dir))
  files = _obtain(layout, archives, cache_dir, say)
  if layout.kind == "file":
    return Prepared(files[0], None, None, layout.model)
  if layout.kind == "files":
    return Prepared(os.path.dirname(files[0]), None, None, layout.model)
  roots = [extract_once(path, os.path.join(dest, entry), say, limits)
           for path, entry in zip(files, layout.entries)]
  if layout.kind == "csv_zip":
    return _csv_pair(layout, roots[0])
  if layout.kind == "split":
    return _split(layout, class_root(roots[0]), dest, split_ratio, seed, say)
  return _folders(layout, [class_root(root) for root in roots])


def _obtain(layout: Layout, archives: Sequence[str], cache_dir: str | None,
            say: Callable[[str], None]) -> list[str]:
  """The dataset's files: the user's (verified) or the cached downloads."""
  if not archives:
    return [download.fetch_entry(entry, cache_dir=cache_dir)
            for entry in layout.entries]
  if len(archives) != len(layout.entries):
    raise DataError(
        f"dataset {layout.name} takes {len(layout.entries)} file(s) "
        f"({', '.join(catalog.get(e).filename for e in layout.entries)}), "
        f"got {len(archives)} --archive value(s); give one per file, in "
        f"that order")
  return [verify_local_file(path, catalog.get(entry), say)
          for path, entry in zip(archives, layout.entries)]


def verify_local_file(path: str, entry: catalog.Entry,
                      say: Callable[[str], None]) -> str:
  """Checks a user-supplied file against the catalog's checksum.

  Args:
    path: the local file.
    entry: the catalog entry it stands for.
    say: receives the computed sha256 when no published checksum exists.

  Returns:
    The absolute path.

  Raises:
    DataError: the file is missing or its sha256/md5 differs.
  """
  if not os.path.isfile(path):
    raise DataError(f"--archive {path} does not exist; expected the file "
                    f"{entry.filename}")
  digests = download.file_digests(path)
  for algorithm in ("sha256", "md5"):
    expected = getattr(entry, algorithm)
    if expected and digests[algorithm] != expected.lower():
      raise DataError(
          f"{path} is not the published {entry.filename}: {algorithm} is "
          f"{digests[algorithm]}, expected {expected}; download it again")
  if entry.sha256 or entry.md5:
    say(f"{os.path.basename(path)}: checksum verified")
  else:
    say(f"{os.path.basename(path)}: sha256 {digests['sha256']} (no "
        f"published checksum to verify against)")
  return os.path.abspath(path)


def extract_once(archive: str, target: str, say: Callable[[str], None],
                 limits: archives_lib.ExpansionLimits | None = None) -> str:
  """Extracts `archive` into `target` unless that was already done.

  A marker file in `target` records the archive's name and size; a
  different archive is extracted again over it.

  Returns:
    `target`.

  Raises:
    DataError: the archive is not a readable zip/tar.
  """
  marker = os.path.join(target, EXTRACTED_MARKER)
  stamp = f"{os.path.basename(archive)} {os.path.getsize(archive)}\n"
  if _read(marker) == stamp:
    return target
  report = archives_lib.extract(archive, target, limits)
  say(report.summary())
  _write(marker, stamp)
  return target


def class_root(directory: str) -> str:
  """The folder whose sub-folders are the classes.

  Descends through folders that hold exactly one sub-folder and no images
  (e.g. `rps/` in rps.zip, `PetImages/` in Microsoft's zip); hidden folders
  and `__MACOSX` are ignored.
  """
  while True:
    entries = sorted(os.listdir(directory))
    folders = [name for name in entries
               if os.path.isdir(os.path.join(directory, name))
               and not name.startswith(".") and name not in _IGNORED]
    images = [name for name in entries
              if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS]
    if len(folders) != 1 or images:
      return directory
    directory = os.path.join(directory, folders[0])


def _folders(layout: Layout, roots: list[str]) -> Prepared:
  index, sub = layout.train
  train = _existing_dir(os.path.join(roots[index], sub), layout)
  validation = None
  if layout.validation is not None:
    index, sub = layout.validation
    validation = _existing_dir(os.path.join(roots[index], sub), layout)
  return Prepared(train, validation, "validation_dir" if validation else None,
                  layout.model)


def _existing_dir(path: str, layout: Layout) -> str:
  path = os.path.normpath(path)
  if not os.path.isdir(path):
    raise DataError(f"dataset {layout.name}: expected the folder {path} "
                    f"after extraction, it is missing; is the archive the "
                    f"right one?")
  return path


def _split(layout: Layout, source: str, dest: str, split_ratio: float,
           seed: int, say: Callable[[str], None]) -> Prepared:
  """Splits each class folder of `source` into dest/training, dest/testing."""
  training = os.path.join(dest, "training")
  testing = os.path.join(dest, "testing")
  marker = os.path.join(dest, SPLIT_MARKER)
  stamp = f"{source} ratio={split_ratio} seed={seed}\n"
  if _read(marker) != stamp:
    classes = [name for name in sorted(os.listdir(source))
               if os.path.isdir(os.path.join(source, name))
               and not name.startswith(".") and name not in _IGNORED]
    if len(classes) < 2:
      raise DataError(f"dataset {layout.name}: {source} should hold one "
                      f"folder per class, found {classes}")
    for name in classes:
      report = split_data(os.path.join(source, name),
                          os.path.join(training, name),
                          os.path.join(testing, name), split_ratio, seed)
      say(f"{name}: {len(report.training)} training, {len(report.testing)} "
          f"testing, {len(report.ignored)} ignored")
    _write(marker, stamp)
  return Prepared(training, testing, "validation_dir", layout.model)


def _csv_pair(layout: Layout, root: str) -> Prepared:
  found = {}
  for folder, dirs, files in os.walk(root):
    dirs[:] = sorted(d for d in dirs if d not in _IGNORED)
    for name in layout.csv_names:
      if name in files and name not in found:
        found[name] = os.path.join(folder, name)
  missing = [name for name in layout.csv_names if name not in found]
  if missing:
    raise DataError(f"dataset {layout.name}: no {', '.join(missing)} in the "
                    f"extracted archive {root}; is the archive the right one?")
  train_name, test_name = layout.csv_names
  return Prepared(found[train_name], found[test_name], "validation_path",
                  layout.model)


def _read(path: str) -> str | None:
  try:
    with open(path, encoding="utf-8") as stream:
      return stream.read()
  except OSError:
    return None


def _write(path: str, text: str) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as stream:
    stream.write(text)
