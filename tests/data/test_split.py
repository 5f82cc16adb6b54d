"""Tests for data/split.py, the course's split_data."""

from __future__ import annotations

import os

import pytest

from data.errors import DataError
from data.images.split import split_data


@pytest.fixture
def source(tmp_path):
  folder = tmp_path / "source"
  folder.mkdir()
  for index in range(10):
    (folder / f"{index}.jpg").write_bytes(f"image {index}".encode())
  (folder / "666.jpg").write_bytes(b"")
  return folder


def split(tmp_path, source, split_size, seed=0, tag=""):
  training, testing = tmp_path / f"train{tag}", tmp_path / f"test{tag}"
  report = split_data(str(source), str(training), str(testing), split_size,
                      seed)
  return report, training, testing


def test_splits_by_ratio_ignoring_zero_length(tmp_path, source, capsys):
  report, training, testing = split(tmp_path, source, 0.9)
  assert "666.jpg is zero length, so ignoring." in capsys.readouterr().out
  assert report.ignored == ["666.jpg"]
  assert len(report.training) == 9 and len(report.testing) == 1
  assert sorted(os.listdir(training)) == sorted(report.training)
  assert sorted(os.listdir(testing)) == sorted(report.testing)
  assert not set(report.training) & set(report.testing)
  assert sorted(report.training + report.testing) == sorted(
      f"{i}.jpg" for i in range(10))
  for name in report.training:
    assert (training / name).read_bytes() == (source / name).read_bytes()


@pytest.mark.parametrize("split_size,train_count", [
    (0.0, 0), (0.25, 2), (0.5, 5), (1.0, 10),
], ids=["none", "quarter", "half", "all"])
def test_sides_never_mix_at_any_ratio(tmp_path, source, split_size,
                                      train_count):
  report, training, testing = split(tmp_path, source, split_size)
  assert len(report.training) == train_count
  assert len(report.testing) == 10 - train_count
  assert not set(os.listdir(training)) & set(os.listdir(testing))


def test_seed_decides_the_split(tmp_path, source):
  first = split(tmp_path, source, 0.5, seed=1, tag="a")[0]
  again = split(tmp_path, source, 0.5, seed=1, tag="b")[0]
  other = split(tmp_path, source, 0.5, seed=2, tag="c")[0]
  assert first.training == again.training
  assert set(first.training) != set(other.training)


def test_refuses_to_mix_with_an_earlier_split(tmp_path, source):
  split(tmp_path, source, 0.5, seed=1)
  with pytest.raises(DataError, match="would mix the two sides"):
    split(tmp_path, source, 0.5, seed=2)


@pytest.mark.parametrize("split_size", [-0.1, 1.5], ids=["negative", "above"])
def test_bad_split_size(tmp_path, source, split_size):
  with pytest.raises(ValueError, match="split_size must be in"):
    split(tmp_path, source, split_size)


def test_missing_source_and_same_folders(tmp_path, source):
  with pytest.raises(DataError, match="does not exist"):
    split_data(str(tmp_path / "nope"), str(tmp_path / "a"),
               str(tmp_path / "b"), 0.5)
  with pytest.raises(DataError, match="three different folders"):
    split_data(str(source), str(tmp_path / "a"), str(tmp_path / "a"), 0.5)
