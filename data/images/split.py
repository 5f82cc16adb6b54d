"""The course's `split_data`: copy one class folder into training/testing.

Like the course's helper, zero-length files are skipped with the message
"<name> is zero length, so ignoring.", the rest are shuffled and the first
int(n * split_size) go to training, the others to testing. Unlike it, the
shuffle is seeded and sorted first (the same seed gives the same split on any
file system) and the two sides can never share a file: the course's
`shuffled[-testing_length:]` put every file in testing when that length was
0, and a file left in the other destination by an earlier run is refused.

Example:
  for name in ("cats", "dogs"):
    split_data(f"/tmp/PetImages/{name}", f"/tmp/train/{name}",
               f"/tmp/test/{name}", split_size=0.9, seed=42)
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil

from data.errors import DataError


@dataclasses.dataclass
class SplitReport:
  """File names copied to each side and the ones ignored.

  Attributes:
    training: names copied into the training folder.
    testing: names copied into the testing folder.
    ignored: zero-length names that were skipped.
  """

  training: list[str]
  testing: list[str]
  ignored: list[str]


def split_data(source: str, training: str, testing: str, split_size: float,
               seed: int = 0) -> SplitReport:
  """Copies the files of one class folder into training and testing folders.

  Args:
    source: folder with the class's files (sub-folders are ignored).
    training: destination for int(n * split_size) files, created if needed.
    testing: destination for the rest, created if needed.
    split_size: fraction for training, in [0, 1].
    seed: seed of the shuffle.

  Returns:
    A `SplitReport`.

  Raises:
    DataError: missing source, overlapping folders, or a file already present
      on the other side.
    ValueError: split_size outside [0, 1].
  """
  if not 0 <= split_size <= 1:
    raise ValueError(f"split_size must be in [0, 1], got {split_size}")
  _check_folders(source, training, testing)
  names, ignored = _usable_files(source)
  random.Random(seed).shuffle(names)
  cut = int(len(names) * split_size)
  report = SplitReport(training=names[:cut], testing=names[cut:],
                       ignored=ignored)
  _refuse_mixing(report.training, testing, training)
  _refuse_mixing(report.testing, training, testing)
  _copy(source, report.training, training)
  _copy(source, report.testing, testing)
  return report


def _check_folders(source: str, training: str, testing: str) -> None:
  if not os.path.isdir(source):
    raise DataError(f"split_data: source folder {source} does not exist")
  real = [os.path.realpath(path) for path in (source, training, testing)]
  if len(set(real)) != 3:
    raise DataError(f"split_data: source {source}, training {training} and "
                    f"testing {testing} must be three different folders")


def _usable_files(source: str) -> tuple[list[str], list[str]]:
  names, ignored = [], []
  for name in sorted(os.listdir(source)):
    path = os.path.join(source, name)
    if not os.path.isfile(path):
      continue
    if os.path.getsize(path) > 0:
      names.append(name)
    else:
      print(f"{name} is zero length, so ignoring.", flush=True)
      ignored.append(name)
  return names, ignored


def _refuse_mixing(names: list[str], other: str, side: str) -> None:
  clashes = [name for name in names
             if os.path.exists(os.path.join(other, name))]
  if clashes:
    raise DataError(f"split_data: {len(clashes)} files for {side} are already "
                    f"in {other} (e.g. {clashes[0]}), which would mix the two "
                    f"sides; empty both destination folders and split again")


def _copy(source: str, names: list[str], destination: str) -> None:
  os.makedirs(destination, exist_ok=True)
  for name in names:
    shutil.copyfile(os.path.join(source, name),
                    os.path.join(destination, name))
