"""data/images/prepare.py: archives to training folders, checksums, CSVs."""

from __future__ import annotations

import zipfile

import pytest

from data.errors import DataError
from data.images import prepare


def test_prepare_folders_descends_wrappers_and_reuses_extraction(tmp_path):
  rps = tmp_path / "rps.zip"
  test_set = tmp_path / "rps-test-set.zip"
  for path, top in ((rps, "rps"), (test_set, "rps-test-set")):
    with zipfile.ZipFile(path, "w") as stream:
      for name in ("paper", "rock", "scissors"):
        stream.writestr(f"{top}/{name}/1.png", b"png")
      stream.writestr("__MACOSX/._x", b"")
  lines = []
  prepared = prepare.prepare(
      "rps", archives=[str(rps), str(test_set)], dest=str(tmp_path / "out"),
      say=lines.append)
  assert prepared.data_path == str(tmp_path / "out" / "rps" / "rps")
  assert prepared.validation_path == str(
      tmp_path / "out" / "rps-test-set" / "rps-test-set")
  assert "--hparam=validation_dir=" in prepared.command()
  assert sum("extracted" in line for line in lines) == 2
  lines.clear()
  prepare.prepare("rps", archives=[str(rps), str(test_set)],
                          dest=str(tmp_path / "out"), say=lines.append)
  assert not any("extracted" in line for line in lines)


def test_prepare_refuses_wrong_archive_count_and_checksum(tmp_path):
  with pytest.raises(DataError, match="takes 2 file"):
    prepare.prepare("rps", archives=[str(tmp_path / "a.zip")])
  fake = tmp_path / "mnist.npz"
  fake.write_bytes(b"not mnist")
  with pytest.raises(DataError, match="sha256 is .*expected 731c5ac6"):
    prepare.prepare("mnist", archives=[str(fake)])


def test_prepare_finds_the_sign_language_csvs_inside_the_zip(tmp_path):
  archive = tmp_path / "archive.zip"
  with zipfile.ZipFile(archive, "w") as stream:
    stream.writestr("amer_sign2.png", b"png")
    stream.writestr("sign_mnist_test/sign_mnist_test.csv", "1,2")
    stream.writestr("sign_mnist_train/sign_mnist_train.csv", "1,2")
  prepared = prepare.prepare("sign-language-mnist",
                                     archives=[str(archive)],
                                     dest=str(tmp_path / "out"), say=None)
  root = tmp_path / "out" / "sign-language-mnist"
  assert prepared.data_path == str(
      root / "sign_mnist_train" / "sign_mnist_train.csv")
  assert prepared.validation_path == str(
      root / "sign_mnist_test" / "sign_mnist_test.csv")
  assert prepared.validation_key == "validation_path"
