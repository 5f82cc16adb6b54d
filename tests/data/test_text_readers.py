"""Text readers on tiny files: BBC CSV, Sentiment140, aclImdb, corpora."""

from __future__ import annotations

import io
import os
import re
import tarfile

import pytest

from data.errors import DataError
from data.text import readers

BBC_CSV = ('category,text\n'
           'tech,tv future in the hands of viewers\n'
           '\n'
           'sport,"a win, a loss and a draw"\n'
           'business,"multi\nline text"\n'
           'sport,cup final tonight\n')

S140_ROWS = ('"0","1","Mon May 11 03:17:40 UTC 2009","q","u1","sad day"\n'
             '"4","2","Mon May 11 03:18:03 UTC 2009","q","u2","happy, '
             'so happy"\n'
             '"2","3","Mon May 11 03:18:54 UTC 2009","q","u3","meh"\n'
             '"4","4","Mon May 11 03:19:04 UTC 2009","q","u4","caf\xe9 '
             'na\xefve"\n')
S140_HEADER = '"polarity","tweet_id","tweet_date","query","user","text"\n'


def write(tmp_path, name: str, content: str | bytes) -> str:
  path = tmp_path / name
  if isinstance(content, str):
    path.write_text(content, encoding="utf-8")
  else:
    path.write_bytes(content)
  return str(path)


# --- BBC ----------------------------------------------------------------------


def test_bbc_reads_rows_skipping_blank_lines(tmp_path):
  data = readers.read_bbc_csv(write(tmp_path, "bbc.csv", BBC_CSV))
  assert data.labels == ["tech", "sport", "business", "sport"]
  assert data.texts == ["tv future in the hands of viewers",
                        "a win, a loss and a draw", "multi\nline text",
                        "cup final tonight"]
  assert len(data) == 4 and data.skipped == {}


def test_bbc_columns_found_by_header_name(tmp_path):
  path = write(tmp_path, "bbc.csv", "text,category\nhello world,tech\n")
  data = readers.read_bbc_csv(path)
  assert (data.labels, data.texts) == (["tech"], ["hello world"])


def test_bbc_missing_text_column_is_named(tmp_path):
  path = write(tmp_path, "bbc.csv", "category,body\ntech,hello\n")
  with pytest.raises(DataError, match=r"bbc\.csv:1: the header has no 'text' "
                     r"column \(found 'category,body'\)"):
    readers.read_bbc_csv(path)


def test_bbc_malformed_row_is_named_by_line(tmp_path):
  content = BBC_CSV + "tech,too,many,fields\n"
  with pytest.raises(DataError,
                     match=r"bbc\.csv:8: expected 2 fields .* got 4"):
    readers.read_bbc_csv(write(tmp_path, "bbc.csv", content))


def test_bbc_empty_category_is_named_by_line(tmp_path):
  with pytest.raises(DataError, match=r"bbc\.csv:3: empty 'category'"):
    readers.read_bbc_csv(write(tmp_path, "bbc.csv",
                               "category,text\ntech,a\n,b\n"))


def test_bbc_empty_text_rows_are_counted(tmp_path):
  data = readers.read_bbc_csv(write(tmp_path, "bbc.csv",
                                    "category,text\ntech,a\nsport,  \n"))
  assert data.texts == ["a"] and data.skipped == {"empty text": 1}


def test_bbc_bad_bytes_are_named_by_line(tmp_path):
  path = write(tmp_path, "bbc.csv", b"category,text\ntech,ok\nsport,caf\xe9\n")
  with pytest.raises(DataError, match=r"bbc\.csv:3: byte b'\\xe9' is not "
                     r"valid utf-8"):
    readers.read_bbc_csv(path)


# --- Sentiment140 -------------------------------------------------------------


@pytest.mark.parametrize("header", ["", S140_HEADER],
                         ids=["no_header", "header"])
def test_sentiment140_latin1_labels_and_neutral(tmp_path, header):
  path = write(tmp_path, "s140.csv", (header + S140_ROWS).encode("latin-1"))
  data = readers.read_sentiment140(path)
  assert data.labels == [0, 1, 1]
  assert data.texts == ["sad day", "happy, so happy", "café naïve"]
  assert data.skipped == {"neutral": 1}


def test_sentiment140_utf8_file_decodes_as_utf8(tmp_path):
  path = write(tmp_path, "s140.csv", S140_ROWS)
  assert readers.read_sentiment140(path).texts[-1] == "café naïve"


def test_sentiment140_neutral_error_names_line(tmp_path):
  path = write(tmp_path, "s140.csv", S140_HEADER + S140_ROWS)
  with pytest.raises(DataError, match=r"s140\.csv:4: neutral polarity 2"):
    readers.read_sentiment140(path, neutral="error")


def test_sentiment140_bad_polarity_names_line_and_value(tmp_path):
  rows = S140_ROWS + '"5","9","d","q","u","x"\n'
  with pytest.raises(DataError, match=r"s140\.csv:5: polarity '5'; expected "
                     r"0 .*2 .*4"):
    readers.read_sentiment140(write(tmp_path, "s140.csv", rows))


def test_sentiment140_wrong_field_count_names_line(tmp_path):
  rows = S140_ROWS + '\n"0","9","d","q","missing text"\n'
  with pytest.raises(DataError, match=r"s140\.csv:6: expected 6 fields .*got "
                     r"5"):
    readers.read_sentiment140(write(tmp_path, "s140.csv", rows))


# --- IMDB ---------------------------------------------------------------------

REVIEWS = {
    "train/pos/10_9.txt": "Great film.<br /><br />Loved it.",
    "train/pos/2_8.txt": "Fine acting",
    "train/neg/0_1.txt": "Awful.<br/>Boring",
    "test/pos/0_10.txt": "Superb",
    "test/neg/1_2.txt": "Bad",
    "train/unsup/0_0.txt": "ignored",
}


def make_acl_imdb(root) -> str:
  for name, text in REVIEWS.items():
    path = os.path.join(root, "aclImdb", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
      f.write(text)
  return os.path.join(root, "aclImdb")


def check_imdb(splits):
  assert sorted(splits) == ["test", "train"]
  assert splits["train"].texts == ["Awful. Boring", "Fine acting",
                                   "Great film.  Loved it."]
  assert splits["train"].labels == [0, 1, 1]
  assert (splits["test"].texts, splits["test"].labels) == (["Bad", "Superb"],
                                                           [0, 1])


@pytest.mark.parametrize("which", ["aclImdb", "parent"],
                         ids=["acl_folder", "parent_folder"])
def test_imdb_folder(tmp_path, which):
  acl = make_acl_imdb(tmp_path / "data")
  check_imdb(readers.read_imdb(acl if which == "aclImdb"
                               else tmp_path / "data"))


@pytest.mark.parametrize("mode, extract", [("w:gz", False), ("w:xz", False),
                                           ("w:xz", True)],
                         ids=["tar_gz", "tar_xz", "tar_xz_extract_dir"])
def test_imdb_archive(tmp_path, mode, extract):
  acl = make_acl_imdb(tmp_path / "src")
  archive = tmp_path / ("imdb.tar." + mode[2:])
  with tarfile.open(archive, mode) as tar:
    tar.add(acl, arcname="aclImdb")
  extract_dir = tmp_path / "extracted" if extract else None
  check_imdb(readers.read_imdb(archive, extract_dir=extract_dir))
  if extract:
    assert (extract_dir / "aclImdb" / "train" / "pos" / "2_8.txt").exists()


def test_imdb_keeps_br_when_asked(tmp_path):
  acl = make_acl_imdb(tmp_path)
  texts = readers.read_imdb(acl, strip_html=False)["train"].texts
  assert texts[0] == "Awful.<br/>Boring"


def add_member(tar: tarfile.TarFile, name: str, data: bytes = b"x",
               kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
  info = tarfile.TarInfo(name)
  info.type, info.linkname = kind, link
  if kind == tarfile.REGTYPE:
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
  else:
    tar.addfile(info)


@pytest.mark.parametrize("name, kind, link, message", [
    ("aclImdb/../../evil.txt", tarfile.REGTYPE, "", "'..' component"),
    ("/etc/evil.txt", tarfile.REGTYPE, "", "absolute path"),
    ("aclImdb/train/pos/1_9.txt", tarfile.SYMTYPE, "/etc/passwd", "link"),
    ("aclImdb/train/pos/1_9.txt", tarfile.LNKTYPE, "aclImdb/README", "link"),
], ids=["dotdot", "absolute", "symlink", "hardlink"])
@pytest.mark.parametrize("extract", [False, True], ids=["memory", "extract"])
def test_imdb_archive_refuses_unsafe_members(tmp_path, name, kind, link,
                                             message, extract):
  archive = tmp_path / "bad.tar.gz"
  with tarfile.open(archive, "w:gz") as tar:
    add_member(tar, "aclImdb/train/neg/0_1.txt", b"bad")
    add_member(tar, name, kind=kind, link=link)
  with pytest.raises(DataError, match=f"refus.*{re.escape(message)}"):
    readers.read_imdb(archive,
                      extract_dir=tmp_path / "out" if extract else None)
  assert not (tmp_path / "evil.txt").exists()


def test_imdb_split_without_neg_is_an_error(tmp_path):
  acl = make_acl_imdb(tmp_path)
  for name in os.listdir(os.path.join(acl, "test", "neg")):
    os.remove(os.path.join(acl, "test", "neg", name))
  os.rmdir(os.path.join(acl, "test", "neg"))
  with pytest.raises(DataError, match="missing the 'neg' folder"):
    readers.read_imdb(acl)


def test_imdb_wrong_folder_is_an_error(tmp_path):
  with pytest.raises(DataError, match="expected aclImdb/train/pos"):
    readers.read_imdb(tmp_path)


# --- plain corpora ------------------------------------------------------------


def test_corpus_lines_like_the_course(tmp_path):
  path = write(tmp_path, "sonnets.txt", b"FROM fairest\r\n\r\nThy Self\r\nend")
  assert readers.read_corpus_lines(path) == ["from fairest", "", "thy self",
                                             "end"]
  assert readers.read_text(path) == "FROM fairest\n\nThy Self\nend"


def test_empty_corpus_is_an_error(tmp_path):
  with pytest.raises(DataError, match="corpus is empty"):
    readers.read_corpus_lines(write(tmp_path, "empty.txt", "\n \n"))
