"""trainers.common.session: what make_data gets for a fresh or resumed run."""

from __future__ import annotations

import tensorflow as tf

from trainers.common import session

TRANSFER = {"pretrained": True, "pretrained_weights": "/nonexistent/w.h5"}


def _write_checkpoint(model_dir, number: int) -> str:
  return tf.train.Checkpoint(v=tf.Variable(1.0)).write(
      str(model_dir / f"ckpt-{number}"))


def test_fresh_run_looks_for_the_pretrained_file(tmp_path):
  assert session.data_hparams(TRANSFER, str(tmp_path))["pretrained"] is True


def test_resumed_run_does_not_need_the_pretrained_file(tmp_path):
  _write_checkpoint(tmp_path, 3)
  result = session.data_hparams(TRANSFER, str(tmp_path))
  assert result["pretrained"] is False
  assert TRANSFER["pretrained"] is True   # the run's own hparams unchanged


def test_only_unreadable_checkpoints_start_fresh(tmp_path):
  prefix = _write_checkpoint(tmp_path, 3)
  with open(prefix + ".index", "wb") as index:
    index.write(b"broken")
  assert session.data_hparams(TRANSFER, str(tmp_path))["pretrained"] is True


def test_models_without_a_pretrained_base_are_unchanged(tmp_path):
  _write_checkpoint(tmp_path, 3)
  hparams = {"epochs": 2}
  assert session.data_hparams(hparams, str(tmp_path)) == hparams
