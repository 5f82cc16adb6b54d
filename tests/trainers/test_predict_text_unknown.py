"""predict_text warns beside a sentence that has no known word."""

from __future__ import annotations

import numpy as np

from trainers.common import text_predictions


def test_known_words_ignores_padding_and_oov():
  ids = np.array([[0, 0, 1, 1], [0, 5, 1, 7], [0, 0, 0, 0]])
  assert text_predictions.known_words(ids, oov_index=1).tolist() == [0, 2, 0]
  assert text_predictions.known_words(ids, oov_index=None).tolist() == [2, 3, 0]


def test_warning_only_beside_sentences_without_known_words():
  plain = text_predictions.prediction_line("pos", 0.9, "good film", 2)
  warned = text_predictions.prediction_line("neg", 0.51, "zzz qqq", 0)
  assert plain == "pos\t0.9000\tgood film"
  assert warned.startswith("neg\t0.5100\tzzz qqq\twarning: no word")
