"""Safe extraction of zip and tar (.tar, .tar.gz, .tar.xz, .tar.bz2) archives.

Only regular files and directories are written, and only inside the target
directory. Entries with absolute paths, `..` components, symlinks, hard links
or device files are refused, logged and listed in the returned report, never
written. The destination is re-checked after resolving symlinks already on
disk, so an existing link inside the target cannot redirect a write either.

Example:
  report = extract("/tmp/happy-or-sad.zip", "/tmp/happy-or-sad")
  print(report.summary())
"""

from __future__ import annotations

import dataclasses
import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib

from absl import logging

from data.errors import DataError

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclasses.dataclass(frozen=True)
class ExpansionLimits:
  """How far an archive may expand: a guard against archive bombs.

  Attributes:
    max_bytes: total uncompressed size of all members.
    max_ratio: total uncompressed size / archive file size (images and
      IDX files of the course compress less than 10x; bombs 1000x).
  """

  max_bytes: int = 16 * 2**30
  max_ratio: float = 100.0

  def check(self, archive_path: str, total: int) -> None:
    """Raises DataError if `total` uncompressed bytes exceed a limit."""
    packed = max(os.path.getsize(archive_path), 1)
    if total > self.max_bytes:
      raise DataError(
          f"{archive_path} would expand to {total / 2**30:.2f} GiB, over the "
          f"limit of {self.max_bytes / 2**30:.2f} GiB; nothing was "
          "extracted (raise it with --max_extract_gb if you trust the file)")
    if total / packed > self.max_ratio:
      raise DataError(
          f"{archive_path} would expand {total / packed:.0f}x "
          f"({packed} -> {total} bytes), over the limit of "
          f"{self.max_ratio:g}x; nothing was extracted (raise it with "
          "--max_extract_ratio if you trust the file)")


@dataclasses.dataclass
class ExtractReport:
  """What `extract` wrote and what it refused.

  Attributes:
    archive: the archive path.
    target: the directory written into.
    extracted: archive names of the files written.
    refused: (archive name, reason) for each entry not written.
  """

  archive: str
  target: str
  extracted: list[str] = dataclasses.field(default_factory=list)
  refused: list[tuple[str, str]] = dataclasses.field(default_factory=list)

  def summary(self) -> str:
    """One line: counts, and the refused names with their reasons."""
    text = (f"{os.path.basename(self.archive)}: extracted "
            f"{len(self.extracted)} files into {self.target}")
    if self.refused:
      text += f"; refused {len(self.refused)}: " + ", ".join(
          f"{name} ({reason})" for name, reason in self.refused)
    return text


def extract(archive_path: str, target_dir: str,
            limits: ExpansionLimits | None = None) -> ExtractReport:
  """Extracts a zip or tar archive into `target_dir`, refusing unsafe entries.

  Args:
    archive_path: a .zip, .tar, .tar.gz/.tgz, .tar.xz or .tar.bz2 file (the
      format is detected from the content, not the name).
    target_dir: destination directory, created if missing.
    limits: expansion limits checked before anything is written (default
      `ExpansionLimits()`).

  Returns:
    An `ExtractReport`; refused entries are also logged by name.

  Raises:
    DataError: the file is missing, not a zip/tar archive, corrupt, or
      expands past `limits`.
  """
  limits = limits or ExpansionLimits()
  if not os.path.isfile(archive_path):
    raise DataError(f"archive {archive_path} does not exist; check the path "
                    f"or download it first")
  is_zip = zipfile.is_zipfile(archive_path)
  if not is_zip and not _is_tar(archive_path):
    raise DataError(f"{archive_path} is neither a zip nor a tar archive; "
                    f"expected .zip, .tar, .tar.gz, .tar.xz or .tar.bz2")
  limits.check(archive_path, _declared_size(archive_path, is_zip))
  os.makedirs(target_dir, exist_ok=True)
  report = ExtractReport(archive_path, os.path.realpath(target_dir))
  if is_zip:
    _extract_zip(archive_path, report)
  else:
    _extract_tar(archive_path, report)
  for name, reason in report.refused:
    logging.warning("%s: refused entry %r (%s)", archive_path, name, reason)
  return report


def _declared_size(path: str, is_zip: bool) -> int:
  """Total uncompressed bytes the archive's members declare."""
  try:
    if is_zip:
      with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())
    with tarfile.open(path, "r:*") as archive:
      return sum(member.size for member in archive if member.isfile())
  except (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile,
          lzma.LZMAError, zlib.error, EOFError, OSError) as error:
    raise DataError(f"{path} is a corrupt archive ({error}); download it "
                    "again") from error


def _is_tar(path: str) -> bool:
  try:
    return tarfile.is_tarfile(path)
  except (OSError, tarfile.TarError, EOFError):
    return False


def unsafe_name_reason(name: str) -> str:
  """Why an archive member name may not be written, or "" when it is safe.

  Args:
    name: the member name as stored in the archive.

  Returns:
    A short reason ("absolute path", "'..' component", "empty name"), or "".
  """
  parts = name.replace("\\", "/").split("/")
  if name.startswith(("/", "\\")) or _DRIVE.match(name):
    return "absolute path"
  if ".." in parts:
    return "'..' component"
  if not any(part not in ("", ".") for part in parts):
    return "empty name"
  return ""


def _destination(report: ExtractReport, name: str) -> str | None:
  """The real path to write `name` to, or None if it resolves outside."""
  relative = name.replace("\\", "/").strip("/")
  destination = os.path.realpath(os.path.join(report.target, relative))
  inside = os.path.commonpath([destination, report.target]) == report.target
  return destination if inside and destination != report.target else None


def _place(report: ExtractReport, name: str, is_dir: bool, source) -> None:
  """Writes one entry (a directory, or a file read from `source()`)."""
  reason = unsafe_name_reason(name)
  destination = None if reason else _destination(report, name)
  if destination is None:
    report.refused.append((name, reason or "resolves outside the target"))
    return
  if is_dir:
    os.makedirs(destination, exist_ok=True)
    return
  os.makedirs(os.path.dirname(destination), exist_ok=True)
  with source() as reader, open(destination, "wb") as writer:
    shutil.copyfileobj(reader, writer)
  report.extracted.append(name)


def _extract_zip(path: str, report: ExtractReport) -> None:
  try:
    with zipfile.ZipFile(path) as archive:
      for info in archive.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
          report.refused.append((info.filename, "symlink"))
          continue
        _place(report, info.filename, info.is_dir(),
               lambda info=info: archive.open(info))
  except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
          NotImplementedError) as error:
    raise DataError(f"{path} is a corrupt or unsupported zip archive "
                    f"({error}); download it again") from error


def _tar_refusal(member: tarfile.TarInfo) -> str:
  if member.issym():
    return f"symlink to {member.linkname!r}"
  if member.islnk():
    return f"hard link to {member.linkname!r}"
  if not (member.isfile() or member.isdir()):
    return "device, fifo or other special file"
  return ""


def _extract_tar(path: str, report: ExtractReport) -> None:
  try:
    with tarfile.open(path, "r:*") as archive:
      for member in archive:
        refusal = _tar_refusal(member)
        if refusal:
          report.refused.append((member.name, refusal))
          continue
        _place(report, member.name, member.isdir(),
               lambda member=member: archive.extractfile(member))
  except (tarfile.TarError, gzip.BadGzipFile, lzma.LZMAError, zlib.error,
          EOFError) as error:
    raise DataError(f"{path} is a corrupt or unsupported tar archive "
                    f"({error}); download it again") from error
