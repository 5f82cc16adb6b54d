"""trainers.lr_find: divergence in the first epoch and a huge --lr0 are one
`error:` line, not a KeyError or OverflowError traceback."""

from __future__ import annotations

import pytest

from tests import testing
from tests.trainers.test_run_dir_safety import one_error_line


@pytest.mark.parametrize("args, fragments", [
    (("--lr0=1e30", "--epochs=3", "--batch_size=1"),
     ("diverged in its first epoch", "--lr0")),
    (("--lr0=inf",), ("--lr0", "finite")),
    (("--lr0=1e300", "--epochs=100", "--epochs_per_decade=1"),
     ("largest float", "--lr0")),
], ids=["diverges_at_once", "inf", "overflows_later"])
def test_lr_find_bad_sweeps_are_one_line(tmp_path, args, fragments):
  result = testing.run_binary("trainers.lr_find", "--model=line",
                              f"--model_dir={tmp_path / 'sweep'}", *args)
  one_error_line(result, *fragments)
  assert not (tmp_path / "sweep").exists()
