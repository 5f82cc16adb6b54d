"""The next-word generator trains on one-hot labels when asked."""

from __future__ import annotations

import tensorflow as tf

from data.bundle import model_hparams
from models import registry
from trainers.common import session


def test_one_hot_labels_switch_the_loss_and_train(tmp_path):
  corpus = tmp_path / "corpus.txt"
  corpus.write_text("the quick brown fox\njumps over the lazy dog\n")
  recipe = registry.get("sonnets_generator")
  hparams = session.resolve_hparams(recipe, {
      "data_path": str(corpus), "one_hot_labels": "true",
      "embedding_dim": "8", "bilstm_units": "4", "lstm_units": "4",
      "epochs": "2", "batch_size": "4"})
  data = recipe.make_data(hparams)
  hparams = model_hparams(hparams, data.info)
  labels = data.element_spec[1]
  assert labels.shape.rank == 2 and labels.shape[-1] == hparams["vocab_size"]
  assert registry.loss_name(recipe, hparams) == "categorical_crossentropy"
  assert registry.loss_name(recipe) == "sparse_categorical_crossentropy"
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 print_fn=None)
  history = trainer.fit(data.train, epochs=2,
                        steps_per_epoch=data.steps_per_epoch)
  assert len(history.history["loss"]) == 2
