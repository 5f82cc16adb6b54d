"""Text CSVs: a stray or unterminated quote is an error naming the line."""

from __future__ import annotations

import pytest

from data.errors import DataError
from data.text.readers import read_bbc_csv


@pytest.mark.parametrize("body, line", [
    ('tech,"an unterminated quote\nsport,second text\nbusiness,third\n', 2),
    ('tech,first\nsport,"quoted" then more\n', 3),
    ('tech,first\nsport,"stray quote\nbusiness,"closes" here\n', 3),
], ids=["unterminated", "text_after_closing_quote", "stray_merges_rows"])
def test_bad_quote_names_the_line(tmp_path, body, line):
  path = tmp_path / "bbc.csv"
  path.write_text("category,text\n" + body)
  with pytest.raises(DataError, match=f"bbc.csv:{line}:"):
    read_bbc_csv(path)


def test_quotes_on_one_line_and_inner_quotes_are_fine(tmp_path):
  path = tmp_path / "bbc.csv"
  path.write_text('category,text\ntech,"a, b"\nsport,he said "hi" there\n')
  assert read_bbc_csv(path).texts == ["a, b", 'he said "hi" there']
