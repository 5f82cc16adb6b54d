"""Layer modules, activations and initializers against Keras 3 as reference.

Each module gets the same weights as the Keras layer; forward outputs and
gradients (w.r.t. the input and every weight) must agree to 1e-5.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import activations
from engine import initializers
from engine.modules import basic
from engine.modules import conv
from engine.modules import dense
from engine.modules import embed
from engine.modules import pool
from engine.modules.sequential import Sequential
from tests.testing import assert_allclose

# -- helpers -------------------------------------------------------------


def _random(shape, seed=0, dtype=np.float32):
  return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _dense_grad(g):
  return tf.convert_to_tensor(g) if g is not None else None


def _output_and_grads(layer, x, weights, training=False):
  """Forward output and d(sum(y * c))/d[x, *weights] for a random c."""
  x = tf.constant(x)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x, training=training)
    cotangent = tf.constant(_random(y.shape, seed=1))
    loss = tf.reduce_sum(y * cotangent)
  grads = tape.gradient(loss, [x, *weights])
  return y, [_dense_grad(g) for g in grads]


def _assert_matches_keras(ours, reference, x, our_weights_fn):
  """Copies our weights into `reference` and compares outputs and grads."""
  ours(x)  # Builds ours.
  our_weights = our_weights_fn(ours)
  reference.build(x.shape)
  reference.set_weights([w.numpy() for w in our_weights])
  y, grads = _output_and_grads(ours, x, our_weights)
  y_ref, grads_ref = _output_and_grads(reference, x,
                                       reference.trainable_weights)
  assert y.shape == tuple(y_ref.shape)
  assert_allclose(y, y_ref)
  assert len(grads) == len(grads_ref)
  for g, g_ref in zip(grads, grads_ref):
    assert_allclose(g, g_ref)


def _kernel_and_bias(layer):
  return [layer.w, layer.b] if layer.use_bias else [layer.w]


# -- activations ---------------------------------------------------------


@pytest.mark.parametrize("name", activations.names())
def test_activation_matches_keras(name):
  x = tf.constant(np.linspace(-4.0, 4.0, 24, dtype=np.float32).reshape(3, 8))
  ours, theirs = activations.get(name), keras.activations.get(name)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y, y_ref = ours(x), theirs(x)
  assert_allclose(y, y_ref)
  assert_allclose(tape.gradient(y, x), tape.gradient(y_ref, x))


def test_activation_none_is_identity_and_callable_passes_through():
  x = tf.constant([-1.0, 2.0])
  assert_allclose(activations.get(None)(x), x)
  assert activations.get(tf.nn.relu) is tf.nn.relu


def test_activation_unknown_name_lists_known_names():
  with pytest.raises(ValueError, match=r"Unknown activation 'rleu'.*'relu'"):
    activations.get("rleu")


# -- initializers --------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(5,), (4, 6), (3, 4, 8), (3, 3, 2, 16)],
    ids=["vector", "matrix", "conv1d_kernel", "conv2d_kernel"])
def test_compute_fans_match_keras(shape):
  from keras.src.initializers.random_initializers import compute_fans
  assert initializers.compute_fans(shape) == compute_fans(shape)


@pytest.mark.parametrize(
    "name,limit_fn", [
        ("glorot_uniform", lambda fi, fo: math.sqrt(6.0 / (fi + fo))),
        ("he_uniform", lambda fi, fo: math.sqrt(6.0 / fi)),
        ("lecun_uniform", lambda fi, fo: math.sqrt(3.0 / fi)),
        ("uniform", lambda fi, fo: 0.05),
        ("random_uniform", lambda fi, fo: 0.05),
    ], ids=["glorot", "he", "lecun", "uniform", "random_uniform"])
def test_uniform_initializers_use_keras_limits(name, limit_fn):
  shape = (3, 3, 8, 32)  # A conv kernel: fans include the 3x3 field.
  fan_in, fan_out = 3 * 3 * 8, 3 * 3 * 32
  limit = limit_fn(fan_in, fan_out)
  values = initializers.get(name)(shape, tf.float32).numpy()
  assert values.shape == shape
  assert np.abs(values).max() <= limit
  # A uniform [-l, l] has stddev l / sqrt(3); 2304 samples pin it to ~3%.
  np.testing.assert_allclose(values.std(), limit / math.sqrt(3), rtol=0.08)


@pytest.mark.parametrize(
    "name,stddev_fn", [
        ("glorot_normal", lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
        ("he_normal", lambda fi, fo: math.sqrt(2.0 / fi)),
        ("lecun_normal", lambda fi, fo: math.sqrt(1.0 / fi)),
        ("normal", lambda fi, fo: 0.05),
        ("random_normal", lambda fi, fo: 0.05),
    ], ids=["glorot", "he", "lecun", "normal", "random_normal"])
def test_normal_initializers_have_keras_stddev(name, stddev_fn):
  values = initializers.get(name)((64, 96), tf.float32).numpy()
  np.testing.assert_allclose(values.std(), stddev_fn(64, 96), rtol=0.05)
  assert abs(values.mean()) < 0.1 * stddev_fn(64, 96)


def test_truncated_normal_initializers_stay_within_two_raw_stddevs():
  values = initializers.get("glorot_normal")((64, 96), tf.float32).numpy()
  raw_stddev = math.sqrt(2.0 / (64 + 96)) / 0.87962566103423978
  assert np.abs(values).max() <= 2 * raw_stddev + 1e-6


@pytest.mark.parametrize("shape", [(6, 6), (4, 12), (12, 4), (2, 3, 8)],
                         ids=["square", "wide", "tall", "rank3"])
def test_orthogonal_initializer_gives_orthonormal_rows_or_columns(shape):
  q = initializers.get("orthogonal")(shape, tf.float64).numpy()
  assert q.shape == shape
  flat = q.reshape(-1, shape[-1])
  gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
  assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-10)


def test_fixed_initializers_and_constant():
  zeros = initializers.get("zeros")((2, 3), tf.float32)
  assert_allclose(zeros, np.zeros((2, 3)))
  assert_allclose(initializers.get("ones")((2,), tf.float64), np.ones(2))
  c = initializers.get(initializers.constant(0.5))((2, 2), tf.float32)
  assert c.dtype == tf.float32
  assert_allclose(c, np.full((2, 2), 0.5))


def test_random_initializers_repeat_under_global_seed():
  init = initializers.get("glorot_uniform")
  tf.random.set_seed(7)
  first = init((4, 5), tf.float32)
  tf.random.set_seed(7)
  assert_allclose(init((4, 5), tf.float32), first)


def test_initializer_unknown_name_lists_known_names():
  with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'.*"
                     r"'glorot_uniform'"):
    initializers.get("glorot")


# -- Dense ----------------------------------------------------------------

DENSE_CASES = {
    "rank2_linear": ((4, 5), dict(units=3)),
    "rank2_relu": ((4, 5), dict(units=3, activation="relu")),
    "rank2_softmax": ((4, 5), dict(units=6, activation="softmax")),
    "rank2_no_bias_tanh": ((4, 5), dict(units=3, activation="tanh",
                                        use_bias=False)),
    "rank3_sigmoid": ((2, 3, 5), dict(units=4, activation="sigmoid")),
    "rank4_gelu": ((2, 2, 3, 5), dict(units=2, activation="gelu")),
}


@pytest.mark.parametrize("shape,kwargs", DENSE_CASES.values(),
                         ids=DENSE_CASES.keys())
def test_dense_matches_keras(shape, kwargs):
  ours = dense.Dense(**kwargs, bias_initializer="normal")
  _assert_matches_keras(ours, keras.layers.Dense(**kwargs), _random(shape),
                        _kernel_and_bias)


def test_dense_dtype_follows_input_and_rejects_another_float():
  layer = dense.Dense(2)
  y = layer(tf.ones([1, 3], tf.float64))
  assert y.dtype == tf.float64 and layer.w.dtype == tf.float64
  assert layer(tf.ones([1, 3], tf.int32)).dtype == tf.float64
  with pytest.raises(TypeError, match="float64.*float32"):
    layer(tf.ones([1, 3], tf.float32))


def test_dense_rejects_rank1_input_and_bad_units():
  with pytest.raises(ValueError, match=r"rank >= 2.*\(3,\)"):
    dense.Dense(2)(tf.ones([3]))
  with pytest.raises(ValueError, match="units must be an int >= 1, got 0"):
    dense.Dense(0)


def test_dense_variables_named_w_and_b_with_keras_default_inits():
  layer = dense.Dense(3, name="head")
  layer(tf.ones([1, 100]))
  assert layer.w.name == "head/w:0" and layer.b.name == "head/b:0"
  assert_allclose(layer.b, np.zeros(3))
  assert np.abs(layer.w.numpy()).max() <= math.sqrt(6.0 / 103)


# -- Conv ----------------------------------------------------------------

CONV1D_CASES = {
    "valid": dict(filters=3, kernel_size=3),
    "same_relu": dict(filters=3, kernel_size=3, padding="same",
                      activation="relu"),
    "causal": dict(filters=2, kernel_size=4, padding="causal"),
    "causal_dilated": dict(filters=2, kernel_size=3, padding="causal",
                           dilation_rate=2, activation="tanh"),
    "strided": dict(filters=4, kernel_size=3, strides=2),
    "same_strided_no_bias": dict(filters=2, kernel_size=2, strides=2,
                                 padding="same", use_bias=False),
    "valid_dilated": dict(filters=2, kernel_size=2, dilation_rate=3),
}


@pytest.mark.parametrize("kwargs", CONV1D_CASES.values(),
                         ids=CONV1D_CASES.keys())
def test_conv1d_matches_keras(kwargs):
  ours = conv.Conv1D(**kwargs, bias_initializer="normal")
  _assert_matches_keras(ours, keras.layers.Conv1D(**kwargs),
                        _random((2, 9, 3)), _kernel_and_bias)


CONV2D_CASES = {
    "valid_relu": dict(filters=3, kernel_size=3, activation="relu"),
    "same": dict(filters=2, kernel_size=3, padding="same"),
    "rect_kernel": dict(filters=2, kernel_size=(3, 2)),
    "strided_pair": dict(filters=2, kernel_size=2, strides=(2, 1)),
    "same_strided": dict(filters=2, kernel_size=3, strides=2, padding="same"),
    "dilated_no_bias": dict(filters=2, kernel_size=2, dilation_rate=2,
                            use_bias=False),
}


@pytest.mark.parametrize("kwargs", CONV2D_CASES.values(),
                         ids=CONV2D_CASES.keys())
def test_conv2d_matches_keras(kwargs):
  ours = conv.Conv2D(**kwargs, bias_initializer="normal")
  _assert_matches_keras(ours, keras.layers.Conv2D(**kwargs),
                        _random((2, 7, 6, 2)), _kernel_and_bias)


def test_causal_conv1d_output_ignores_later_steps():
  layer = conv.Conv1D(1, 3, padding="causal", dilation_rate=2)
  x = _random((1, 10, 1))
  changed = x.copy()
  changed[0, 6:] += 1.0
  y, y_changed = layer(x).numpy(), layer(changed).numpy()
  assert y.shape == (1, 10, 1)
  assert_allclose(y[0, :6], y_changed[0, :6])
  assert not np.allclose(y[0, 6:], y_changed[0, 6:])


@pytest.mark.parametrize(
    "make,pattern", [
        (lambda: conv.Conv1D(2, 3, strides=2, dilation_rate=2),
         "cannot be combined"),
        (lambda: conv.Conv2D(2, 3, padding="causal"), "padding must be one of"),
        (lambda: conv.Conv2D(2, (3, 3, 3)), "kernel_size must be"),
        (lambda: conv.Conv1D(0, 3), "filters must be an int >= 1, got 0"),
    ], ids=["strides_and_dilation", "causal_2d", "kernel_rank", "filters"])
def test_conv_rejects_bad_hyperparameters(make, pattern):
  with pytest.raises(ValueError, match=pattern):
    make()


def test_conv2d_rejects_wrong_input_rank():
  with pytest.raises(ValueError, match=r"rank-4 inputs.*\(2, 5, 3\)"):
    conv.Conv2D(2, 3)(tf.zeros([2, 5, 3]))


# -- Pooling ---------------------------------------------------------------

POOL_CASES = {
    "max1d": (lambda: pool.MaxPool1D(), lambda: keras.layers.MaxPooling1D(),
              (2, 9, 3)),
    "max1d_strided_same": (
        lambda: pool.MaxPooling1D(3, strides=2, padding="same"),
        lambda: keras.layers.MaxPooling1D(3, strides=2, padding="same"),
        (2, 9, 3)),
    "max2d": (lambda: pool.MaxPool2D(), lambda: keras.layers.MaxPooling2D(),
              (2, 7, 6, 3)),
    "max2d_pair_same": (
        lambda: pool.MaxPooling2D((3, 2), strides=(1, 2), padding="same"),
        lambda: keras.layers.MaxPooling2D((3, 2), strides=(1, 2),
                                          padding="same"),
        (2, 7, 6, 3)),
    "global_avg1d": (pool.GlobalAveragePooling1D,
                     keras.layers.GlobalAveragePooling1D, (2, 9, 3)),
    "global_avg2d": (pool.GlobalAveragePooling2D,
                     keras.layers.GlobalAveragePooling2D, (2, 5, 4, 3)),
    "global_max1d": (pool.GlobalMaxPooling1D,
                     keras.layers.GlobalMaxPooling1D, (2, 9, 3)),
    "global_max2d": (pool.GlobalMaxPooling2D,
                     keras.layers.GlobalMaxPooling2D, (2, 5, 4, 3)),
}


@pytest.mark.parametrize("make,make_reference,shape", POOL_CASES.values(),
                         ids=POOL_CASES.keys())
def test_pooling_matches_keras(make, make_reference, shape):
  _assert_matches_keras(make(), make_reference(), _random(shape),
                        lambda layer: [])


def test_global_pooling_keepdims():
  y = pool.GlobalAveragePooling2D(keepdims=True)(tf.ones([2, 3, 4, 5]))
  assert y.shape == (2, 1, 1, 5)


# -- Embedding -------------------------------------------------------------


@pytest.mark.parametrize("id_dtype", [tf.int32, tf.int64, tf.uint8],
                         ids=["int32", "int64", "uint8"])
def test_embedding_matches_keras(id_dtype):
  ours = embed.Embedding(7, 3)
  reference = keras.layers.Embedding(7, 3)
  reference.build((None, 4))
  reference.set_weights([ours.embeddings.numpy()])
  ids = tf.constant([[1, 2, 1, 6], [0, 0, 5, 3]], id_dtype)
  cotangent = tf.constant(_random((2, 4, 3)))

  def output_and_grad(layer, table):
    with tf.GradientTape() as tape:
      y = layer(ids)
      loss = tf.reduce_sum(y * cotangent)
    return y, tf.convert_to_tensor(tape.gradient(loss, table))

  y, grad = output_and_grad(ours, ours.embeddings)
  y_ref, grad_ref = output_and_grad(reference, reference.embeddings)
  assert_allclose(y, y_ref)
  assert_allclose(grad, grad_ref)


@pytest.mark.parametrize("wrap", [lambda m: m, lambda m: [m]],
                         ids=["matrix", "keras_list"])
def test_embedding_uses_initial_weights(wrap):
  matrix = _random((5, 2))
  layer = embed.Embedding(5, 2, weights=wrap(matrix))
  assert_allclose(layer.embeddings, matrix)
  assert_allclose(layer(tf.constant([[4, 0]])), matrix[[[4, 0]]])


def test_embedding_frozen_leaves_trainable_variables():
  layer = embed.Embedding(5, 2, weights=_random((5, 2)), trainable=False)
  assert layer.trainable_variables == ()
  assert [v.name for v in layer.variables] == ["embedding/embeddings:0"]


def test_embedding_weights_shape_mismatch_says_expected_and_got():
  with pytest.raises(ValueError, match=r"\(5, 2\), got \(5, 3\)"):
    embed.Embedding(5, 2, weights=np.zeros((5, 3)))


def test_embedding_rejects_other_input_length():
  layer = embed.Embedding(5, 2, input_length=4)
  assert layer(tf.zeros([3, 4], tf.int32)).shape == (3, 4, 2)
  with pytest.raises(ValueError, match="input_length 4.*length 6"):
    layer(tf.zeros([3, 6], tf.int32))


def test_embedding_input_length_checked_when_traced_without_static_length():
  layer = embed.Embedding(5, 2, input_length=4)
  lookup = tf.function(layer, input_signature=[
      tf.TensorSpec([None, None], tf.int32)])
  assert lookup(tf.zeros([1, 4], tf.int32)).shape == (1, 4, 2)
  with pytest.raises(tf.errors.InvalidArgumentError, match="input_length 4"):
    lookup(tf.zeros([1, 3], tf.int32))


# -- Flatten, Dropout, Lambda, Scale, ExpandDims --------------------------


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 2, 3, 4)],
                         ids=["rank2", "rank3", "rank4"])
def test_flatten_matches_keras(shape):
  _assert_matches_keras(basic.Flatten(), keras.layers.Flatten(),
                        _random(shape), lambda layer: [])


def test_dropout_is_identity_at_inference():
  x = _random((4, 8))
  layer = basic.Dropout(0.5)
  assert_allclose(layer(x), x)
  assert_allclose(layer(x, training=False), x)


@pytest.mark.parametrize("rate", [0.2, 0.5], ids=["rate_0.2", "rate_0.5"])
@pytest.mark.parametrize("as_tensor", [False, True],
                         ids=["python_flag", "tensor_flag"])
def test_dropout_in_training_scales_survivors_and_keeps_expected_fraction(
    rate, as_tensor):
  x = np.full((100, 100), 2.0, np.float32)
  training = tf.constant(True) if as_tensor else True
  y = basic.Dropout(rate, seed=3)(x, training=training).numpy()
  survivors = y[y != 0]
  assert_allclose(survivors, np.full(survivors.shape, 2.0 / (1 - rate)))
  # 10,000 Bernoulli draws: the kept fraction's stddev is < 0.005.
  assert abs(survivors.size / y.size - (1 - rate)) < 0.02


def test_dropout_rejects_rate_outside_unit_interval():
  with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.5"):
    basic.Dropout(1.5)


def test_lambda_scale_and_expand_dims():
  x = tf.constant([[1.0, 2.0]])
  assert_allclose(basic.Lambda(lambda t: t + 1.0)(x), [[2.0, 3.0]])
  assert_allclose(basic.Scale(100.0)(x), [[100.0, 200.0]])
  assert basic.Scale(2.0)(tf.ones([1], tf.float64)).dtype == tf.float64
  assert basic.ExpandDims()(x).shape == (1, 2, 1)
  assert basic.ExpandDims(1)(x).shape == (1, 1, 2)
  with pytest.raises(TypeError, match="must be callable"):
    basic.Lambda(3.0)


# -- Regularization and freezing -----------------------------------------


@pytest.mark.parametrize(
    "make,shape", [
        (lambda: dense.Dense(3, kernel_l2=0.01), (2, 4)),
        (lambda: conv.Conv1D(2, 3, kernel_l2=0.003), (1, 5, 2)),
        (lambda: conv.Conv2D(2, 2, kernel_l2=0.5), (1, 3, 3, 2)),
    ], ids=["dense", "conv1d", "conv2d"])
def test_l2_regularization_equals_keras_regularizer(make, shape):
  layer = make()
  assert layer.regularization_losses == []  # Nothing before the build.
  layer(tf.ones(shape))
  (loss,) = layer.regularization_losses
  expected = keras.regularizers.L2(layer.kernel_l2)(layer.w)
  assert_allclose(loss, expected, atol=1e-6)


def test_negative_l2_is_rejected():
  with pytest.raises(ValueError, match="kernel_l2 must be >= 0, got -1.0"):
    dense.Dense(3, kernel_l2=-1.0)


FREEZE_MODELS = {
    "embedding": 0, "conv1d": 1, "dense": 3, "dense_out": 4,
}


@pytest.mark.parametrize("index", FREEZE_MODELS.values(),
                         ids=FREEZE_MODELS.keys())
def test_freezing_a_layer_removes_exactly_its_variables(index):
  model = Sequential([
      embed.Embedding(10, 4), conv.Conv1D(3, 2, kernel_l2=0.1),
      pool.GlobalMaxPooling1D(), dense.Dense(5, activation="relu"),
      dense.Dense(1)])
  model.build([6], tf.int32)
  all_ids = {id(v) for v in model.trainable_variables}
  frozen = model.layers[index]
  frozen.trainable = False
  frozen_ids = {id(v) for v in frozen.variables}
  assert frozen_ids
  assert {id(v) for v in model.trainable_variables} == all_ids - frozen_ids
  assert {id(v) for v in model.non_trainable_variables} == frozen_ids
  assert len(model.variables) == len(all_ids)
  if index == 1:
    assert model.regularization_losses == []
