"""The course's headline results, reproduced through the engine in-process."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from models import series as baselines, registry
from models.series import model_forecast
from trainers.common import session


def train(name, **overrides):
  recipe = registry.get(name)
  hparams = dict(recipe.hparams, seed=42, **overrides)
  session.set_seeds(42)
  data = recipe.make_data(hparams)
  trainer = session.make_trainer(recipe, hparams,
                                 tf.distribute.get_strategy(), None,
                                 print_fn=None)
  trainer.fit(data.train, epochs=hparams["epochs"],
              steps_per_epoch=data.steps_per_epoch)
  return trainer, data


def test_line_learns_y_equals_2x_minus_1():
  trainer, data = train("line")
  x = tf.data.Dataset.from_tensor_slices(
      np.array([[data.info.predict_x]], np.float32)).batch(1)
  assert abs(float(trainer.predict(x)[0, 0]) - 19.0) < 0.1


def test_linear_regression_recovers_true_weights():
  trainer, data = train("linear_regression")
  w = trainer.model.layers[0].w.numpy().ravel()
  np.testing.assert_allclose(w, np.ravel(data.info.w_true), atol=0.05)


def test_series_dnn_beats_the_naive_forecast():
  trainer, data = train("series_dnn")
  series, split = data.info.series, data.info.split_time
  forecast = model_forecast(trainer, series, split,
                            data.info.window_size, seq2seq=False)
  actual = series[split:]
  naive = baselines.naive_forecast(series, split)
  assert baselines.mae(actual, forecast) < baselines.mae(actual, naive)
