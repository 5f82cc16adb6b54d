"""Tests for data/download.py against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import threading

import pytest

from data import catalog
from data import download
from data.errors import DataError

PAYLOAD = bytes(range(256)) * 40  # 10 KiB
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
  """Serves /data.bin fully; /short.bin promises 1000 bytes, sends 100."""

  requests: list[str] = []

  def do_GET(self):  # noqa: N802 (http.server's name)
    type(self).requests.append(self.path)
    if self.path == "/data.bin":
      self._send(PAYLOAD, len(PAYLOAD))
    elif self.path == "/short.bin":
      self._send(PAYLOAD[:100], 1000)
      self.close_connection = True
    else:
      self.send_error(404, "Not Found")

  def _send(self, body: bytes, length: int):
    self.send_response(200)
    self.send_header("Content-Length", str(length))
    self.end_headers()
    self.wfile.write(body)
    self.wfile.flush()

  def log_message(self, *args):
    pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
  """Requests to 127.0.0.1 must not go through a proxy from the environment."""
  for name in ("http_proxy", "https_proxy", "all_proxy"):
    monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server():
  _Handler.requests = []
  httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  yield f"http://127.0.0.1:{httpd.server_address[1]}"
  httpd.shutdown()
  httpd.server_close()
  thread.join()


@pytest.fixture
def closed_port_url():
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  return f"http://127.0.0.1:{port}/data.bin"


def test_downloads_verifies_and_reuses_cache(server, tmp_path):
  progress = io.StringIO()
  path = download.fetch(f"{server}/data.bin", "sub/data.bin", sha256=SHA256,
                        md5=MD5, cache_dir=str(tmp_path), progress=progress)
  assert path == str(tmp_path / "sub" / "data.bin")
  assert open(path, "rb").read() == PAYLOAD
  line = progress.getvalue()
  assert line.startswith("\rDownloading data.bin: 10.0 KiB / 10.0 KiB (100%)")
  assert line.endswith("/s\n")
  again = download.fetch(f"{server}/data.bin", "sub/data.bin", sha256=SHA256,
                         cache_dir=str(tmp_path), progress=None)
  assert again == path
  assert _Handler.requests == ["/data.bin"]
  assert sorted(os.listdir(tmp_path / "sub")) == ["data.bin",
                                                  "data.bin.sha256"]


def test_progress_goes_to_stderr_by_default(server, tmp_path, capsys):
  download.fetch(f"{server}/data.bin", "data.bin", sha256=SHA256,
                 cache_dir=str(tmp_path))
  captured = capsys.readouterr()
  assert "\rDownloading data.bin: 10.0 KiB" in captured.err
  assert captured.out == ""


def test_unknown_checksum_is_reported_and_pinned(server, tmp_path):
  progress = io.StringIO()
  path = download.fetch(f"{server}/data.bin", "data.bin", sha256=None,
                        cache_dir=str(tmp_path), progress=progress)
  assert f"computed sha256 {SHA256}" in progress.getvalue()
  assert "trust on first use" in progress.getvalue()
  with open(path, "ab") as stream:  # Changed after the first download.
    stream.write(b"tampered")
  os.utime(path, (os.path.getmtime(path) + 10,) * 2)
  with pytest.raises(DataError, match=f"expected {SHA256}"):
    download.fetch(f"{server}/data.bin", "data.bin", cache_dir=str(tmp_path))


@pytest.mark.parametrize("kwargs,pattern", [
    ({"sha256": "0" * 64}, f"sha256 is {SHA256}, expected 0000"),
    ({"md5": "f" * 32}, f"md5 is {MD5}, expected ffff"),
], ids=["sha256", "md5"])
def test_checksum_mismatch_leaves_nothing(server, tmp_path, kwargs, pattern):
  with pytest.raises(DataError, match=pattern) as error:
    download.fetch(f"{server}/data.bin", "data.bin", cache_dir=str(tmp_path),
                   progress=None, **kwargs)
  assert "nothing was written" in str(error.value)
  assert os.listdir(tmp_path) == []


def test_interrupted_download_leaves_no_partial_file(server, tmp_path):
  with pytest.raises(DataError, match="closed after 100 of 1000 bytes"):
    download.fetch(f"{server}/short.bin", "short.bin",
                   cache_dir=str(tmp_path), progress=None)
  assert os.listdir(tmp_path) == []


def test_offline_error_names_file_and_where_to_put_it(closed_port_url,
                                                      tmp_path):
  with pytest.raises(DataError) as error:
    download.fetch(closed_port_url, "data.bin", cache_dir=str(tmp_path),
                   progress=None, timeout=5)
  message = str(error.value)
  assert "\n" not in message
  assert message.startswith(f"could not download data.bin from "
                            f"{closed_port_url} (")
  assert message.endswith(f"place it at {tmp_path / 'data.bin'}")
  assert os.listdir(tmp_path) == []


def test_http_error_is_reported(server, tmp_path):
  with pytest.raises(DataError, match="HTTP 404"):
    download.fetch(f"{server}/missing.bin", "missing.bin",
                   cache_dir=str(tmp_path), progress=None)


def test_file_placed_by_hand_is_verified_without_network(closed_port_url,
                                                         tmp_path):
  (tmp_path / "data.bin").write_bytes(PAYLOAD)
  path = download.fetch(closed_port_url, "data.bin", sha256=SHA256,
                        cache_dir=str(tmp_path))
  assert path == str(tmp_path / "data.bin")
  (tmp_path / "bad.bin").write_bytes(b"wrong")
  with pytest.raises(DataError, match="cached file .*bad.bin does not match"):
    download.fetch(closed_port_url, "bad.bin", sha256=SHA256,
                   cache_dir=str(tmp_path))


def test_cache_dir_resolution(monkeypatch, tmp_path):
  monkeypatch.delenv(download.CACHE_ENV, raising=False)
  assert download.resolve_cache_dir() == os.path.expanduser(
      "~/.cache/tfpractice")
  monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "env"))
  assert download.resolve_cache_dir() == str(tmp_path / "env")
  assert download.resolve_cache_dir(str(tmp_path / "arg")) == str(
      tmp_path / "arg")


def test_entry_without_url_explains_manual_download(tmp_path):
  entry = catalog.get("sign-language-mnist")
  with pytest.raises(DataError, match="kaggle.com.*place it at"):
    download.fetch_entry(entry, cache_dir=str(tmp_path))
  (tmp_path / entry.filename).write_bytes(b"zip")
  assert download.fetch_entry(entry, cache_dir=str(tmp_path)) == str(
      tmp_path / entry.filename)


def test_catalog_entries_are_well_formed():
  required = {"mnist-npz", "happy-or-sad", "horse-or-human", "rps",
              "cats-and-dogs-filtered", "bbc-text", "imdb", "sonnets",
              "sarcasm", "glove-6b", "sentiment140"}
  assert required <= set(catalog.ENTRIES)
  for entry in catalog.ENTRIES.values():
    assert entry.url or entry.manual, entry.name
    assert entry.sha256 is None or len(entry.sha256) == 64, entry.name
    assert entry.md5 is None or len(entry.md5) == 32, entry.name
    assert entry.sha256 or "no published checksum" in entry.checksum_note \
        or entry.md5 or entry.url is None, entry.name
  with pytest.raises(KeyError, match="known: "):
    catalog.get("nope")
