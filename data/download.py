"""A cached, checksummed, atomic downloader for the course's public files.

A file is fetched once into the cache directory (the `cache_dir` argument,
else `$TFPRACTICE_CACHE`, else `~/.cache/tfpractice`). Bytes go to a temporary
file in the same directory, are hashed on the way, fsync'ed and renamed into
place only when complete and verified, so an interruption or a checksum
mismatch never leaves a half file under the final name. The verified sha256 is
stored beside the file (`<file>.sha256`); a later call trusts the file while
it is older than that record and re-hashes it otherwise (e.g. a file placed by
hand).

Example:
  path = fetch("https://example.org/bbc-text.csv", "bbc-text.csv",
               sha256=None, cache_dir="/tmp/cache")
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import TextIO

from absl import logging

from data import catalog
from data.errors import DataError

CACHE_ENV = "TFPRACTICE_CACHE"
DEFAULT_CACHE = os.path.join("~", ".cache", "tfpractice")
CHUNK_BYTES = 1 << 20
PROGRESS_INTERVAL_S = 0.25


def resolve_cache_dir(cache_dir: str | None = None) -> str:
  """The cache directory: the argument, else $TFPRACTICE_CACHE, else default.

  Args:
    cache_dir: explicit directory (e.g. from a `--cache_dir` flag) or None.

  Returns:
    The absolute directory path (not created).
  """
  chosen = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE
  return os.path.abspath(os.path.expanduser(chosen))


def fetch_entry(entry: catalog.Entry | str, cache_dir: str | None = None,
                progress: TextIO | bool | None = True, timeout: float = 60.0
                ) -> str:
  """Downloads a catalog entry (or returns the cached copy).

  Args:
    entry: a `catalog.Entry` or its name.
    cache_dir: see `resolve_cache_dir`.
    progress: see `fetch`.
    timeout: socket timeout in seconds.

  Returns:
    The local path of the verified file.

  Raises:
    DataError: no public URL and no cached copy, offline, or bad checksum.
  """
  if isinstance(entry, str):
    entry = catalog.get(entry)
  if entry.url is None:
    destination = os.path.join(resolve_cache_dir(cache_dir), entry.filename)
    if os.path.isfile(destination):
      return destination
    raise DataError(
        f"{entry.filename} has no public download URL ({entry.checksum_note})"
        f"; {entry.manual} and place it at {destination}")
  return fetch(entry.url, entry.filename, sha256=entry.sha256, md5=entry.md5,
               cache_dir=cache_dir, progress=progress, timeout=timeout)


def fetch(url: str, filename: str, *, sha256: str | None = None,
          md5: str | None = None, cache_dir: str | None = None,
          progress: TextIO | bool | None = True, timeout: float = 60.0
          ) -> str:
  """Returns the cached path of `filename`, downloading it from `url` once.

  Args:
    url: where to download from (http, https or file URL).
    filename: name inside the cache directory (may contain a subfolder).
    sha256: expected sha256 (hex), or None: trust on first use, the computed
      hash is printed and pinned for later calls.
    md5: expected md5 (hex) where that is all the publisher gives.
    cache_dir: see `resolve_cache_dir`.
    progress: True for the progress line on stderr, a stream to write it
      to, or None/False for silence. The trust-on-first-use hash goes there
      too.
    timeout: socket timeout in seconds.

  Returns:
    The local path of the verified file.

  Raises:
    DataError: the download failed (one line naming the file and where to
      put it by hand), or the bytes do not match the expected checksum.
  """
  destination = os.path.join(resolve_cache_dir(cache_dir), filename)
  if progress is True:
    progress = sys.stderr
  if progress is False:
    progress = None
  if os.path.isfile(destination):
    _check_cached(destination, sha256, md5)
    return destination
  os.makedirs(os.path.dirname(destination), exist_ok=True)
  digests = _download_atomically(url, destination, sha256, md5, progress,
                                 timeout)
  if sha256 is None:
    message = (f"{filename}: no published sha256 is known; computed "
               f"sha256 {digests['sha256']} on first download (trust on first "
               f"use); later calls check the file against it")
    logging.info(message)
    if progress is not None:
      print(message, file=progress, flush=True)
  return destination


def _new_hashers() -> dict:
  return {"sha256": hashlib.sha256(),
          "md5": hashlib.md5(usedforsecurity=False)}


def file_digests(path: str) -> dict[str, str]:
  """The sha256 and md5 (hex) of a file, read in chunks."""
  hashers = _new_hashers()
  with open(path, "rb") as stream:
    for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
      for hasher in hashers.values():
        hasher.update(chunk)
  return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _record_path(path: str) -> str:
  return path + ".sha256"


def _read_record(path: str) -> str | None:
  try:
    with open(_record_path(path), encoding="ascii") as stream:
      return stream.read().split()[0]
  except (OSError, IndexError, UnicodeDecodeError):
    return None


def _record_is_fresh(path: str) -> bool:
  try:
    return os.path.getmtime(_record_path(path)) >= os.path.getmtime(path)
  except OSError:
    return False


def _check_cached(path: str, sha256: str | None, md5: str | None) -> None:
  """Verifies a cached file, re-hashing only when its record is stale."""
  recorded = _read_record(path)
  expected = sha256.lower() if sha256 else recorded
  if recorded is not None and _record_is_fresh(path):
    if expected == recorded:
      return
  digests = file_digests(path)
  problem = _mismatch(digests, expected, md5)
  if problem:
    raise DataError(
        f"cached file {path} does not match: {problem}; delete it (and "
        f"{os.path.basename(_record_path(path))}) and run again")
  _write_record(path, digests["sha256"])


def _mismatch(digests: dict[str, str], sha256: str | None,
              md5: str | None) -> str:
  if sha256 and digests["sha256"] != sha256.lower():
    return f"sha256 is {digests['sha256']}, expected {sha256}"
  if md5 and digests["md5"] != md5.lower():
    return f"md5 is {digests['md5']}, expected {md5}"
  return ""


def _write_record(path: str, sha256: str) -> None:
  record = _record_path(path)
  handle, temp = tempfile.mkstemp(dir=os.path.dirname(path),
                                  prefix=os.path.basename(record) + ".")
  try:
    with os.fdopen(handle, "w", encoding="ascii") as stream:
      stream.write(f"{sha256}  {os.path.basename(path)}\n")
    os.chmod(temp, 0o666 & ~_current_umask())
    os.replace(temp, record)
  except BaseException:
    _remove_quietly(temp)
    raise


def _download_atomically(url: str, destination: str, sha256: str | None,
                         md5: str | None, progress: TextIO | None,
                         timeout: float) -> dict[str, str]:
  """Streams `url` to a temp file beside `destination`, verifies, renames."""
  directory = os.path.dirname(destination)
  filename = os.path.basename(destination)
  handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{filename}.",
                                  suffix=".part")
  try:
    with os.fdopen(handle, "wb") as stream:
      digests = _stream_url(url, stream, filename, progress, timeout,
                            destination)
      stream.flush()
      os.fsync(stream.fileno())
    problem = _mismatch(digests, sha256, md5)
    if problem:
      raise DataError(
          f"{filename} downloaded from {url} is corrupt or changed: {problem}"
          f"; it was discarded and nothing was written to {destination}")
    os.chmod(temp, 0o666 & ~_current_umask())  # mkstemp made it 0600.
    os.replace(temp, destination)
  except BaseException:
    _remove_quietly(temp)
    raise
  _fsync_directory(directory)
  _write_record(destination, digests["sha256"])
  return digests


def _stream_url(url: str, stream, filename: str, progress: TextIO | None,
                timeout: float, destination: str) -> dict[str, str]:
  """Copies the response body into `stream`; returns its digests."""
  hashers = _new_hashers()
  received = 0
  try:
    with urllib.request.urlopen(url, timeout=timeout) as response:
      total = _content_length(response)
      meter = _ProgressLine(filename, total, progress)
      for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
        stream.write(chunk)
        for hasher in hashers.values():
          hasher.update(chunk)
        received += len(chunk)
        meter.update(received)
      meter.finish(received)
  except (urllib.error.URLError, http.client.HTTPException, socket.timeout,
          ConnectionError) as error:
    raise DataError(_unreachable_message(filename, url, destination,
                                         _reason(error))) from error
  if total is not None and received != total:
    raise DataError(_unreachable_message(
        filename, url, destination,
        f"connection closed after {received} of {total} bytes"))
  return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _content_length(response) -> int | None:
  value = response.headers.get("Content-Length")
  return int(value) if value and value.isdigit() else None


def _reason(error: Exception) -> str:
  if isinstance(error, urllib.error.HTTPError):
    return f"HTTP {error.code} {error.reason}"
  if isinstance(error, urllib.error.URLError):
    return str(error.reason)
  return f"{type(error).__name__}: {error}" if str(error) else type(
      error).__name__


def _unreachable_message(filename: str, url: str, destination: str,
                         reason: str) -> str:
  return (f"could not download {filename} from {url} ({reason}); if this "
          f"machine is offline, download it elsewhere and place it at "
          f"{destination}")


def _current_umask() -> int:
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


def _fsync_directory(directory: str) -> None:
  try:
    descriptor = os.open(directory, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(descriptor)
  except OSError:
    pass  # Some file systems do not support fsync on directories.
  finally:
    os.close(descriptor)


def _remove_quietly(path: str) -> None:
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def _human_bytes(count: float) -> str:
  for unit in ("B", "KiB", "MiB", "GiB"):
    if count < 1024 or unit == "GiB":
      return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
    count /= 1024
  return f"{count:.1f} GiB"


class _ProgressLine:
  """One status line on a stream, rewritten in place a few times a second."""

  def __init__(self, filename: str, total: int | None,
               stream: TextIO | None):
    self._filename = filename
    self._total = total
    self._stream = stream
    self._start = time.monotonic()
    self._last = 0.0

  def update(self, received: int) -> None:
    now = time.monotonic()
    if self._stream is None or now - self._last < PROGRESS_INTERVAL_S:
      return
    self._last = now
    self._write(received, now, end="")

  def finish(self, received: int) -> None:
    if self._stream is not None:
      self._write(received, time.monotonic(), end="\n")

  def _write(self, received: int, now: float, end: str) -> None:
    rate = received / max(now - self._start, 1e-6)
    size = _human_bytes(received)
    if self._total:
      size += (f" / {_human_bytes(self._total)} "
               f"({100 * received // self._total}%)")
    self._stream.write(f"\rDownloading {self._filename}: {size} at "
                       f"{_human_bytes(rate)}/s{end}")
    self._stream.flush()
