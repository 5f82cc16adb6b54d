"""Readers for the course's text data sets.

* `read_bbc_csv`: the BBC news CSV (`category,text` with a header).
* `read_imdb`: the Stanford `aclImdb` layout (train/test x pos/neg review
  files), from a directory or a .tar.gz/.tar.xz archive.
* `read_sentiment140`: the Sentiment140 six-column CSV, with or without a
  header line, UTF-8 or latin-1.
* `read_text` / `read_corpus_lines`: plain corpora such as the sonnets.

Every reader raises `DataError` naming the file, the line and the bad value;
`FileNotFoundError` when the path does not exist.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import sys
import tarfile
from typing import Iterator

from data import archives
from data.errors import DataError

SENTIMENT140_COLUMNS = ("polarity", "id", "date", "query", "user", "text")
_BR_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_IMDB_SPLITS = ("train", "test")
_IMDB_CLASSES = (("neg", 0), ("pos", 1))
_IMDB_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/([^/]+\.txt)$")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # BBC articles are long.


@dataclasses.dataclass
class LabeledTexts:
  """Texts and their labels, as read from one file or folder.

  Attributes:
    texts: the texts, in file order.
    labels: one label per text: a class name (BBC) or 0/1 (IMDB,
      Sentiment140: 1 is positive).
    source: the file or folder read.
    skipped: reason -> number of rows left out (e.g. {"neutral": 139}).
  """

  texts: list[str]
  labels: list
  source: str
  skipped: dict[str, int] = dataclasses.field(default_factory=dict)

  def __len__(self) -> int:
    return len(self.texts)


# --- BBC news -----------------------------------------------------------------


def read_bbc_csv(path: str | os.PathLike, label_column: str = "category",
                 text_column: str = "text") -> LabeledTexts:
  """Reads the BBC news CSV: a header, then one `category,text` per row.

  Blank lines are skipped; rows with an empty text are skipped and counted
  in `skipped["empty text"]`.

  Args:
    path: the CSV file.
    label_column: header name of the class column.
    text_column: header name of the text column.

  Returns:
    Texts and class-name labels in file order.

  Raises:
    DataError: a missing column (named), a row with the wrong number of
      fields or an empty category (named by line), bad bytes, no rows.
  """
  path = os.fspath(path)
  rows = _csv_rows(path, _decode_file(path, "utf-8"))
  header_line, header = next(rows, (0, None))
  if header is None:
    raise DataError(f"{path}: the file is empty; expected a header "
                    f"'{label_column},{text_column}' and one row per article.")
  label_at = _column_index(path, header_line, header, label_column)
  text_at = _column_index(path, header_line, header, text_column)
  result = LabeledTexts([], [], path)
  for line, row in rows:
    if len(row) != len(header):
      raise DataError(
          f"{path}:{line}: expected {len(header)} fields "
          f"({','.join(header)}), got {len(row)}: {_preview(row)}; quote "
          f"texts that contain commas.")
    label, text = row[label_at].strip(), row[text_at]
    if not label:
      raise DataError(f"{path}:{line}: empty {label_column!r}; every row "
                      f"needs a class name.")
    if not text.strip():
      _count(result.skipped, "empty text")
      continue
    result.labels.append(label)
    result.texts.append(text)
  if not result.texts:
    raise DataError(f"{path}: no data rows after the header.")
  return result


def _column_index(path: str, line: int, header: list[str],
                  column: str) -> int:
  names = [h.strip().lower() for h in header]
  if column.lower() not in names:
    raise DataError(
        f"{path}:{line}: the header has no {column!r} column (found "
        f"{','.join(header)!r}); expected a header like 'category,text'.")
  return names.index(column.lower())


# --- Sentiment140 -------------------------------------------------------------


def read_sentiment140(path: str | os.PathLike, neutral: str = "drop",
                      encoding: str = "auto") -> LabeledTexts:
  """Reads a Sentiment140 CSV: polarity,id,date,query,user,text.

  Polarity 0 (negative) becomes label 0 and 4 (positive) label 1. The file
  may start with a header line (detected by a non-numeric polarity). The
  original files are latin-1: with `encoding="auto"` the bytes are decoded
  as UTF-8 when valid, else as latin-1 (which never fails).

  Args:
    path: the CSV file.
    neutral: what to do with polarity 2: "drop" (counted in
      `skipped["neutral"]`) or "error".
    encoding: "auto", or a Python codec name such as "latin-1".

  Returns:
    Tweets and 0/1 labels in file order.

  Raises:
    DataError: a row without six fields, a polarity other than 0/2/4 (or 2
      with neutral="error"), all named by line; no rows.
  """
  if neutral not in ("drop", "error"):
    raise DataError(f"read_sentiment140: neutral must be 'drop' or 'error', "
                    f"got {neutral!r}.")
  path = os.fspath(path)
  result = LabeledTexts([], [], path)
  for n, (line, row) in enumerate(_csv_rows(path,
                                            _decode_file(path, encoding))):
    if len(row) != len(SENTIMENT140_COLUMNS):
      raise DataError(
          f"{path}:{line}: expected 6 fields ({','.join(SENTIMENT140_COLUMNS)}"
          f"), got {len(row)}: {_preview(row)}.")
    polarity = row[0].strip()
    if n == 0 and not polarity.lstrip("-").isdigit():
      continue  # A header line, e.g. "polarity","tweet_id",...
    if polarity == "2":
      if neutral == "error":
        raise DataError(f"{path}:{line}: neutral polarity 2; this reader "
                        f"was asked for binary data (neutral='drop' skips "
                        f"them).")
      _count(result.skipped, "neutral")
      continue
    if polarity not in ("0", "4"):
      raise DataError(f"{path}:{line}: polarity {polarity!r}; expected 0 "
                      f"(negative), 2 (neutral) or 4 (positive).")
    result.labels.append(0 if polarity == "0" else 1)
    result.texts.append(row[5])
  if not result.texts and not result.skipped:
    raise DataError(f"{path}: no tweets; expected rows of "
                    f"{','.join(SENTIMENT140_COLUMNS)}.")
  return result


# --- IMDB (aclImdb) -----------------------------------------------------------


def read_imdb(path: str | os.PathLike, strip_html: bool = True,
              extract_dir: str | os.PathLike | None = None
              ) -> dict[str, LabeledTexts]:
  """Reads the IMDB reviews in the Stanford `aclImdb` layout.

  The layout is `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`; other
  folders (`unsup`) are ignored. Reviews are sorted by id within neg, then
  pos; labels are 0 (neg) and 1 (pos).

  Args:
    path: the `aclImdb` folder, a folder containing it, or a .tar.gz /
      .tar.xz archive of it. Archive members with an absolute path, `..` or
      links are refused.
    strip_html: replace the `<br />` line breaks of the reviews by a space.
    extract_dir: None reads an archive's reviews in memory, without
      writing anything (fastest); a folder extracts the archive there first
      (with `data.archives.extract`), or reuses it when it already holds
      the layout.

  Returns:
    split name ("train" and/or "test", whichever exist) -> reviews.

  Raises:
    DataError: no train/test split with pos and neg folders, an unsafe
      archive member, a review that is not UTF-8 (file named).
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    return _read_imdb_folder(path, strip_html)
  if not os.path.exists(path):
    raise FileNotFoundError(f"IMDB data not found: {path}")
  if not tarfile.is_tarfile(path):
    raise DataError(f"{path}: neither a folder nor a tar archive; expected "
                    f"the aclImdb folder or aclImdb_v1.tar.gz.")
  if extract_dir is None:
    return _read_imdb_archive(path, strip_html)
  extract_dir = os.fspath(extract_dir)
  if _find_imdb_root(extract_dir) is None:
    _extract_imdb_archive(path, extract_dir)
  return _read_imdb_folder(extract_dir, strip_html)


def read_imdb_split(folder: str | os.PathLike, strip_html: bool = True
                    ) -> LabeledTexts:
  """One aclImdb split folder (`.../test`, holding pos/ and neg/).

  Raises:
    DataError: a missing pos/ or neg/ folder, or no reviews.
  """
  return _read_imdb_split(os.fspath(folder), strip_html)


def imdb_split_folder(path: str | os.PathLike, split: str) -> str | None:
  """The folder of one split ("train", "test") of the aclImdb tree at
  `path` (the aclImdb folder or one holding it), or None: an archive, or a
  tree without that split."""
  path = os.fspath(path)
  root = _find_imdb_root(path) if os.path.isdir(path) else None
  if root is None or not os.path.isdir(os.path.join(root, split)):
    return None
  return os.path.join(root, split)


def strip_html(text: str) -> str:
  """Replaces the `<br />` line breaks of an IMDB review by a space."""
  return _BR_TAG.sub(" ", text)


def _extract_imdb_archive(archive: str, dest: str) -> None:
  """Extracts with `data.archives`; any refused member makes it an error."""
  report = archives.extract(archive, dest)
  if report.refused:
    raise DataError(f"{archive}: refusing to read an archive with unsafe "
                    f"members: {report.summary()}.")


def _check_tar_member(archive: str, member: tarfile.TarInfo) -> None:
  reason = archives.unsafe_name_reason(member.name)
  if not reason and not (member.isfile() or member.isdir()):
    reason = "link or special file"
  if reason:
    raise DataError(f"{archive}: refusing member {member.name!r} ({reason}); "
                    f"the archive is unsafe or tampered with.")


def _read_imdb_archive(archive: str, strip_html: bool
                       ) -> dict[str, LabeledTexts]:
  """Reads aclImdb reviews straight from a tar archive, in memory."""
  found: dict[tuple[str, str], list[tuple[tuple[int, str], str]]] = {}
  try:
    with tarfile.open(archive, "r:*") as tar:
      for member in tar:
        _check_tar_member(archive, member)
        match = _IMDB_MEMBER.search(member.name)
        if not member.isfile() or match is None:
          continue
        split, cls, name = match.groups()
        raw = tar.extractfile(member).read()
        text = _decode_bytes(raw, f"{archive}:{member.name}", "utf-8")
        found.setdefault((split, cls), []).append(
            (_review_sort_key(name), text))
  except (tarfile.TarError, EOFError, OSError) as e:
    raise DataError(f"{archive}: cannot read ({type(e).__name__}: {e}); the "
                    f"archive is corrupt or incomplete.") from None
  splits = {}
  for split in _IMDB_SPLITS:
    if not any((split, cls) in found for cls, _ in _IMDB_CLASSES):
      continue
    result = LabeledTexts([], [], f"{archive}:{split}")
    for cls, label in _IMDB_CLASSES:
      if (split, cls) not in found:
        raise DataError(f"{archive}: {split}/{cls}/ has no reviews; an IMDB "
                        f"split needs both pos/ and neg/.")
      for _, text in sorted(found[(split, cls)], key=lambda kv: kv[0]):
        result.texts.append(_BR_TAG.sub(" ", text) if strip_html else text)
        result.labels.append(label)
    splits[split] = result
  if not splits:
    raise DataError(f"{archive}: no IMDB reviews; expected members "
                    f"aclImdb/train/pos/*.txt, aclImdb/train/neg/*.txt (and "
                    f"test/...).")
  return splits


def _find_imdb_root(path: str) -> str | None:
  for root in (path, os.path.join(path, "aclImdb")):
    if any(os.path.isdir(os.path.join(root, split, cls))
           for split in _IMDB_SPLITS for cls, _ in _IMDB_CLASSES):
      return root
  return None


def _read_imdb_folder(path: str, strip_html: bool) -> dict[str, LabeledTexts]:
  root = _find_imdb_root(path)
  if root is None:
    raise DataError(
        f"{path}: no IMDB reviews; expected aclImdb/train/pos, "
        f"aclImdb/train/neg (and test/...) folders of .txt reviews.")
  splits = {}
  for split in _IMDB_SPLITS:
    if os.path.isdir(os.path.join(root, split)):
      splits[split] = _read_imdb_split(os.path.join(root, split), strip_html)
  return splits


def _read_imdb_split(folder: str, strip_html: bool) -> LabeledTexts:
  result = LabeledTexts([], [], folder)
  for cls, label in _IMDB_CLASSES:
    class_dir = os.path.join(folder, cls)
    if not os.path.isdir(class_dir):
      raise DataError(f"{folder}: missing the {cls!r} folder; an IMDB split "
                      f"needs both pos/ and neg/.")
    names = sorted((n for n in os.listdir(class_dir) if n.endswith(".txt")),
                   key=_review_sort_key)
    for name in names:
      text = _decode_file(os.path.join(class_dir, name), "utf-8")
      result.texts.append(_BR_TAG.sub(" ", text) if strip_html else text)
      result.labels.append(label)
  if not result.texts:
    raise DataError(f"{folder}: pos/ and neg/ hold no .txt reviews.")
  return result


def _review_sort_key(name: str) -> tuple[int, str]:
  review_id = name.split("_", 1)[0]
  return (int(review_id) if review_id.isdigit() else -1, name)


# --- plain text ---------------------------------------------------------------


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
  """The whole file as text, with \\r\\n and \\r turned into \\n.

  Raises:
    DataError: bytes that are not valid in `encoding` (line named).
  """
  text = _decode_file(os.fspath(path), encoding)
  return text.replace("\r\n", "\n").replace("\r", "\n")


def read_corpus_lines(path: str | os.PathLike, lower: bool = True,
                      encoding: str = "utf-8") -> list[str]:
  """The corpus split into lines, as the course does it.

  This is `open(path).read().lower().split("\\n")`: empty lines (and the
  empty string after a final newline) are kept; they produce no n-grams.

  Raises:
    DataError: the file has no text or bad bytes.
  """
  text = read_text(path, encoding)
  if not text.strip():
    raise DataError(f"{os.fspath(path)}: the corpus is empty.")
  return (text.lower() if lower else text).split("\n")


# --- shared helpers -----------------------------------------------------------


def _decode_file(path: str, encoding: str) -> str:
  """Reads and decodes a whole file (see `_decode_bytes`)."""
  with open(path, "rb") as f:
    return _decode_bytes(f.read(), path, encoding)


def _decode_bytes(raw: bytes, source: str, encoding: str) -> str:
  """Decodes bytes; "auto" is UTF-8 when valid, else latin-1."""
  if encoding == "auto":
    try:
      return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
      return raw.decode("latin-1")
  try:
    return raw.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8")
                      else encoding)
  except UnicodeDecodeError as e:
    line = raw[:e.start].count(b"\n") + 1
    raise DataError(
        f"{source}:{line}: byte {raw[e.start:e.start + 1]!r} is not valid "
        f"{encoding}; pass the file's encoding (e.g. latin-1).") from None
  except LookupError:
    raise DataError(f"unknown text encoding {encoding!r}.") from None


def _csv_rows(path: str, text: str) -> Iterator[tuple[int, list[str]]]:
  """(first line number, fields) of each non-blank CSV record.

  A quoted field may span lines, but not lines that are records of their
  own (as many fields as the first record): that is an unterminated or
  stray quote merging rows into one text, an error naming the line.
  """
  reader = csv.reader(io.StringIO(text, newline=""), strict=True)
  physical = text.splitlines()
  width = None
  while True:
    line = reader.line_num + 1
    try:
      row = next(reader)
    except StopIteration:
      return
    except csv.Error as e:
      raise DataError(f"{path}:{line}: malformed CSV ({e}); check the "
                      "quotes on this line.") from None
    width = width or len(row)
    if reader.line_num > line and _swallows_records(
        physical[line:reader.line_num - 1], width):
      raise DataError(
          f"{path}:{line}: a quote opened on this line closes only on line "
          f"{reader.line_num}, swallowing the rows between (an "
          "unterminated or stray quote?).")
    if row and any(field.strip() for field in row):
      yield line, row


def _swallows_records(lines: list[str], width: int) -> bool:
  """True if any of `lines`, read alone, is a record of `width` fields."""
  return width > 1 and any(
      len(next(csv.reader([l]), [])) == width for l in lines)


def _preview(row: list[str], limit: int = 80) -> str:
  text = ",".join(row)
  return repr(text if len(text) <= limit else text[:limit] + "...")


def _count(counter: dict[str, int], key: str) -> None:
  counter[key] = counter.get(key, 0) + 1
