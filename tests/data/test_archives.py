"""Tests for data/archives.py: entries escaping the target are refused."""

from __future__ import annotations

import io
import logging
import os
import stat
import tarfile
import zipfile

import pytest

from data import archives
from data.errors import DataError


def make_zip(path, entries) -> str:
  """entries: (name, bytes) pairs; bytes None makes a symlink entry."""
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in entries:
      if data is None:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
      else:
        archive.writestr(name, data)
  return str(path)


def add_tar_member(archive, name, data=b"", kind=tarfile.REGTYPE,
                   link=""):
  info = tarfile.TarInfo(name)
  info.type, info.linkname, info.size = kind, link, len(data)
  archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def test_zip_refuses_escaping_entries(tmp_path, caplog):
  path = make_zip(tmp_path / "a.zip", [
      ("happy/1.png", b"one"), ("sad/", b""), ("sad/2.png", b"two"),
      ("../evil.txt", b"x"), ("/abs.txt", b"x"), ("happy/../../up.txt", b"x"),
      ("C:/windows.txt", b"x"), ("link", None)])
  target = tmp_path / "out"
  with caplog.at_level(logging.WARNING):
    report = archives.extract(path, str(target))
  assert report.extracted == ["happy/1.png", "sad/2.png"]
  assert (target / "happy" / "1.png").read_bytes() == b"one"
  refused = dict(report.refused)
  assert refused == {"../evil.txt": "'..' component",
                     "/abs.txt": "absolute path",
                     "happy/../../up.txt": "'..' component",
                     "C:/windows.txt": "absolute path", "link": "symlink"}
  assert not (tmp_path / "evil.txt").exists()
  assert not (tmp_path / "up.txt").exists()
  assert not (target / "link").exists()
  for name in refused:
    assert repr(name) in caplog.text
  assert "refused 5" in report.summary()


@pytest.mark.parametrize("mode,suffix", [
    ("w:gz", "tar.gz"), ("w:xz", "tar.xz"), ("w", "tar"),
], ids=["gz", "xz", "plain"])
def test_tar_refuses_links_and_escapes(tmp_path, mode, suffix):
  path = tmp_path / f"a.{suffix}"
  with tarfile.open(path, mode) as archive:
    add_tar_member(archive, "aclImdb/train/pos/0_9.txt", b"Bromwell High")
    add_tar_member(archive, "aclImdb/sym", kind=tarfile.SYMTYPE,
                   link="/etc/passwd")
    add_tar_member(archive, "aclImdb/hard", kind=tarfile.LNKTYPE,
                   link="aclImdb/train/pos/0_9.txt")
    add_tar_member(archive, "../escape.txt", b"x")
    add_tar_member(archive, "/abs.txt", b"x")
    add_tar_member(archive, "aclImdb/fifo", kind=tarfile.FIFOTYPE)
  target = tmp_path / "out"
  report = archives.extract(str(path), str(target))
  assert report.extracted == ["aclImdb/train/pos/0_9.txt"]
  assert (target / "aclImdb/train/pos/0_9.txt").read_bytes() == b"Bromwell High"
  refused = dict(report.refused)
  assert refused["aclImdb/sym"] == "symlink to '/etc/passwd'"
  assert refused["aclImdb/hard"].startswith("hard link")
  assert refused["../escape.txt"] == "'..' component"
  assert refused["/abs.txt"] == "absolute path"
  assert refused["aclImdb/fifo"].startswith("device, fifo")
  assert sorted(os.listdir(tmp_path)) == ["a." + suffix, "out"]


def test_existing_symlink_in_target_cannot_redirect_writes(tmp_path):
  outside = tmp_path / "outside"
  outside.mkdir()
  target = tmp_path / "out"
  target.mkdir()
  os.symlink(outside, target / "link")
  path = make_zip(tmp_path / "a.zip", [("link/planted.txt", b"x")])
  report = archives.extract(path, str(target))
  assert report.refused == [("link/planted.txt",
                             "resolves outside the target")]
  assert not (outside / "planted.txt").exists()


@pytest.mark.parametrize("content,pattern", [
    (None, "does not exist"),
    (b"just text", "neither a zip nor a tar"),
], ids=["missing", "not_an_archive"])
def test_bad_archive_files(tmp_path, content, pattern):
  path = tmp_path / "x.zip"
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(DataError, match=pattern):
    archives.extract(str(path), str(tmp_path / "out"))


def test_corrupt_zip_member(tmp_path):
  path = tmp_path / "a.zip"
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("a.txt", b"hello world " * 100)
  data = bytearray(path.read_bytes())
  data[40:60] = b"\xff" * 20  # Inside the compressed member.
  path.write_bytes(bytes(data))
  with pytest.raises(DataError, match="corrupt or unsupported zip"):
    archives.extract(str(path), str(tmp_path / "out"))
