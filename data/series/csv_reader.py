"""Reading a dated series from a CSV file (Sunspots, daily temperatures).

The first row is a header. Columns are chosen by name or by index, quoting and
CRLF line ends are handled by the `csv` module, and every bad row is reported
with its 1-based line number:

  dates, values = read_series_csv("Sunspots.csv",
                                  value_column="Monthly Mean Total Sunspot Number",
                                  time_column="Date")
"""

from __future__ import annotations

import csv
import math
from typing import Sequence

import numpy as np

from data.errors import DataError

Column = int | str


def read_series_csv(
    path: str, value_column: Column = -1,
    time_column: Column | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Reads one numeric column of a CSV file with a header row.

  Blank lines are skipped. Every other row must have the chosen columns and a
  finite number in the value column.

  Args:
    path: the CSV file.
    value_column: header name or 0-based index (negative counts from the
      end) of the values.
    time_column: header name or index of the dates; None numbers the rows.

  Returns:
    (time, values): time is the time column's strings, or `arange(n)` when
    time_column is None; values is float32 of shape [n].

  Raises:
    DataError: the file is missing, unreadable or empty, a column does not
      exist, or a row lacks a column or holds no finite number.
  """
  rows = _read_rows(path)
  if not rows:
    raise DataError(f"{path}: the file is empty; expected a header row and "
                    "one value per line")
  header_line, header = rows[0]
  value_index = _column_index(path, header, value_column)
  time_index = (None if time_column is None
                else _column_index(path, header, time_column))
  times, values = [], []
  for line, row in rows[1:]:
    values.append(_parse_value(path, line, row, value_index, header))
    if time_index is not None:
      times.append(_cell(path, line, row, time_index, header))
  if not values:
    raise DataError(f"{path}: no data rows after the header on line "
                    f"{header_line}; expected one value per line")
  time = (np.arange(len(values)) if time_index is None
          else np.array(times))
  return time, np.array(values, dtype=np.float32)


def _read_rows(path: str) -> list[tuple[int, list[str]]]:
  """(line number, cells) of every non-blank row."""
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      reader = csv.reader(f)
      return [(reader.line_num, row) for row in reader
              if any(cell.strip() for cell in row)]
  except FileNotFoundError as e:
    raise DataError(f"{path}: no such file; pass the path of a CSV series "
                    "file") from e
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    raise DataError(f"{path}: cannot be read as a CSV text file ({e})") from e


def _column_index(path: str, header: Sequence[str], column: Column) -> int:
  """The 0-based index of `column` in the header.

  A string is a header name first; a string of digits that names no column
  is an index (flags arrive as strings).
  """
  names = [name.strip() for name in header]
  if isinstance(column, str):
    if column.strip() in names:
      return names.index(column.strip())
    if not column.strip().lstrip("-").isdigit():
      raise DataError(f"{path}: no column named {column!r} in the header "
                      f"{names}; pass one of these names or an index")
  index = int(column)
  if not -len(names) <= index < len(names):
    raise DataError(f"{path}: column index {index} is out of range for the "
                    f"header's {len(names)} columns {names}")
  return index % len(names)


def _cell(path: str, line: int, row: Sequence[str], index: int,
          header: Sequence[str]) -> str:
  """The cell at `index`, or a DataError naming the line."""
  if index >= len(row):
    raise DataError(f"{path}, line {line}: {len(row)} columns, expected "
                    f"{len(header)} (no column {index}, "
                    f"{header[index].strip()!r}); row: {','.join(row)!r}")
  return row[index].strip()


def _parse_value(path: str, line: int, row: Sequence[str], index: int,
                 header: Sequence[str]) -> float:
  """The finite float in the value column, or a DataError naming the line."""
  cell = _cell(path, line, row, index, header)
  column = header[index].strip()
  try:
    value = float(cell)
  except ValueError:
    raise DataError(f"{path}, line {line}: {cell!r} in column {column!r} is "
                    "not a number; expected a decimal number such as 12.5"
                    ) from None
  if not math.isfinite(value):
    raise DataError(f"{path}, line {line}: {cell!r} in column {column!r} is "
                    "not finite; expected a finite number (fill or drop "
                    "missing values first)")
  return value
