"""Archives that expand past the size or ratio limit are refused untouched."""

from __future__ import annotations

import tarfile
import zipfile

import pytest

from data import archives
from data.errors import DataError


def zip_of_zeros(path, size):
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("a/zeros.bin", b"\0" * size)
  return str(path)


def test_high_ratio_zip_is_refused_before_writing(tmp_path):
  bomb = zip_of_zeros(tmp_path / "bomb.zip", 2_000_000)
  target = tmp_path / "out"
  with pytest.raises(DataError, match=r"expand \d+x.*--max_extract_ratio"):
    archives.extract(bomb, str(target))
  assert not target.exists()
  report = archives.extract(bomb, str(target),
                            archives.ExpansionLimits(max_ratio=1e6))
  assert report.extracted == ["a/zeros.bin"]


def test_total_size_limit_applies_to_tar_too(tmp_path):
  payload = tmp_path / "data.bin"
  payload.write_bytes(b"x" * 5000)
  path = tmp_path / "data.tar"
  with tarfile.open(path, "w") as archive:
    archive.add(payload, arcname="data.bin")
  limits = archives.ExpansionLimits(max_bytes=4000)
  with pytest.raises(DataError, match="GiB.*--max_extract_gb"):
    archives.extract(str(path), str(tmp_path / "out"), limits)
  assert archives.extract(str(path), str(tmp_path / "ok")).extracted == [
      "data.bin"]
