"""Mixed precision: dtype policy of the modules, float16 dynamic loss scaling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from engine import mixed_precision
from engine.modules.conv import Conv1D
from engine.modules.dense import Dense
from engine.modules.embed import Embedding
from engine.modules.pool import GlobalAveragePooling1D
from engine.modules.sequential import Sequential
from engine.optimizers import SGD, Adam
from engine.optimizers.loss_scale import DynamicLossScale
from engine.trainer import Trainer

LOW = {"mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}


def regression_data(n=64, seed=0):
  rng = np.random.RandomState(seed)
  x = rng.randn(n, 3).astype(np.float32)
  y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
  return tf.data.Dataset.from_tensor_slices((x, y.astype(np.float32))).batch(16)


def build_regressor(policy: str, seed: int = 1) -> Sequential:
  tf.random.set_seed(seed)
  with mixed_precision.policy_scope(policy):
    model = Sequential([Dense(8, activation="relu"), Dense(1)])
  model(tf.zeros([1, 3]))
  return model


def fit_loss(policy: str, loss_scale=None, epochs: int = 60) -> float:
  model = build_regressor(policy)
  trainer = Trainer(model, "mse", Adam(0.03), print_fn=None,
                    loss_scale=loss_scale)
  data = regression_data()
  history = trainer.fit(lambda _: data, epochs=epochs)
  return history.history["loss"][-1]


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_variables_stay_float32_and_math_runs_low(policy):
  with mixed_precision.policy_scope(policy):
    hidden = Dense(4, activation="relu")
    probs = Dense(3, activation="softmax")
  h = hidden(tf.ones([2, 5]))
  assert h.dtype == LOW[policy]
  assert probs(h).dtype == tf.float32          # softmax in float32
  for variable in hidden.variables + probs.variables:
    assert variable.dtype == tf.float32
  assert hidden.compute_dtype == LOW[policy]


def test_text_stack_under_bfloat16():
  with mixed_precision.policy_scope("mixed_bfloat16"):
    model = Sequential([Embedding(20, 4), Conv1D(6, 3, activation="relu"),
                        GlobalAveragePooling1D(),
                        Dense(1, activation="sigmoid")])
  out = model(tf.constant([[1, 2, 3, 4, 5]]))
  assert out.dtype == tf.float32
  assert all(v.dtype == tf.float32 for v in model.variables)


def test_policy_is_taken_at_creation_and_scope_restores():
  with mixed_precision.policy_scope("mixed_bfloat16"):
    layer = Dense(2)
  assert mixed_precision.global_policy().name == "float32"
  assert layer(tf.ones([1, 2])).dtype == tf.bfloat16
  assert Dense(2).compute_dtype is None


def test_unknown_policy_is_refused():
  with pytest.raises(ValueError, match="mixed_bfloat16"):
    mixed_precision.Policy("mixed_int8")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_training_converges_like_float32(policy):
  # Tolerance: the low type keeps ~3 significant digits, so the mixed run
  # must reach the same small loss as float32 within 0.02 (abs) on targets
  # of size ~2, after the same 60 epochs from the same initial weights.
  reference = fit_loss("float32")
  scale = DynamicLossScale() if policy == "mixed_float16" else None
  mixed = fit_loss(policy, loss_scale=scale)
  assert reference < 0.05
  assert mixed < 0.05
  assert abs(mixed - reference) < 0.02


def test_scale_halves_and_skips_the_step_on_non_finite_gradients():
  scale = DynamicLossScale(initial_scale=1024.0)
  var = tf.Variable([1.0, 2.0])
  finite = scale.apply(SGD(0.1), [tf.constant([np.inf, 1.0])], [var])
  assert not bool(finite)
  np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])   # skipped
  assert scale.scale.numpy() == 512.0
  assert scale.good_steps.numpy() == 0


def test_scale_doubles_after_growth_steps_good_steps():
  assert DynamicLossScale().growth_steps == 2000   # Keras's default
  scale = DynamicLossScale(initial_scale=8.0, growth_steps=3)
  var = tf.Variable([1.0])
  optimizer = SGD(1.0)
  for _ in range(2):
    scale.apply(optimizer, [tf.constant([8.0])], [var])   # grad 1 after /8
  assert scale.scale.numpy() == 8.0
  assert scale.good_steps.numpy() == 2
  scale.apply(optimizer, [tf.constant([8.0])], [var])
  assert scale.scale.numpy() == 16.0
  assert scale.good_steps.numpy() == 0
  np.testing.assert_allclose(var.numpy(), [-2.0])   # three unscaled steps


def test_float16_underflow_is_rescued_by_the_scale():
  # d/dx of 0.5 * (1e-4 * x)**2 at x=1 is 1e-8: below float16's smallest
  # subnormal (6e-8), so it flushes to 0 unless the loss is scaled.
  x = tf.Variable(1.0)
  scale = DynamicLossScale()

  def gradient(loss_scale):
    with tf.GradientTape() as tape:
      u = tf.cast(x, tf.float16) * tf.constant(1e-4, tf.float16)
      loss = 0.5 * tf.square(u)
      target = loss if loss_scale is None else loss_scale.scaled(loss)
    grads = tape.gradient(target, [x])
    return float((grads if loss_scale is None else
                  loss_scale.unscale(grads))[0])

  assert gradient(None) == 0.0
  np.testing.assert_allclose(gradient(scale), 1e-8, rtol=0.05)


def test_resume_keeps_the_loss_scale(tmp_path):
  data = regression_data()

  def trainer():
    return Trainer(build_regressor("mixed_float16"), "mse", Adam(0.01),
                   model_dir=str(tmp_path), print_fn=None,
                   loss_scale=DynamicLossScale(initial_scale=4.0,
                                               growth_steps=3))

  first = trainer()
  first.fit(lambda _: data, epochs=2)          # 8 finite steps: 4 -> 8 -> 16
  grown = float(first.loss_scale.scale.numpy())
  assert grown == 16.0
  second = trainer()
  second.build(data.element_spec)
  second.restore()
  assert float(second.loss_scale.scale.numpy()) == grown
  assert int(second.loss_scale.good_steps.numpy()) == 2
