"""BatchNormalization with Keras's semantics, frozen-layer rule included.

`training=True` normalises with the batch's mean and (biased) variance and
moves the moving statistics towards them:
`moving = moving * momentum + batch * (1 - momentum)`. `training=False`
normalises with the moving statistics. A frozen layer (`trainable=False`) runs in inference
mode even when called with `training=True`, as Keras does since TF 2.0:
fine-tuning a pretrained network must not disturb its statistics. Freeze a
whole network's layers with `engine.freezing.set_trainable(model, False)`.

Under a MirroredStrategy each replica normalises with its own batch's
statistics by default (as Keras); `synchronized=True` all-reduces the sums
so every replica uses the statistics of the global batch. The moving
statistics are MEAN-aggregated variables: each step's update is the mean of
the replicas' updates.

Under a mixed policy (`engine.mixed_precision`) the variables are float32
and the normalisation runs in float32 (squares of float16/bfloat16
activations overflow or lose the variance); the output is cast back to the
compute dtype, as Keras 3 does.
"""

from __future__ import annotations

import tensorflow as tf

from engine import initializers
from engine.module import Module
from engine.modules.basic import float_input


def sync_moments(x: tf.Tensor, axes: list[int]) -> tuple[tf.Tensor, tf.Tensor]:
  """Mean and variance over `axes` of the batch of EVERY replica.

  Outside a multi-replica replica context this is `tf.nn.moments`.
  """
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return tf.nn.moments(x, axes)
  sums = context.all_reduce(tf.distribute.ReduceOp.SUM, [
      tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes),
      tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)])
  total, squared, count = sums
  mean = tf.math.divide_no_nan(total, count)
  variance = tf.maximum(tf.math.divide_no_nan(squared, count)
                        - tf.square(mean), 0.0)
  return mean, variance


class BatchNormalization(Module):
  """Normalises each feature (the last axis) over the batch, like Keras.

  Variables: `gamma` (when `scale`) and `beta` (when `center`) are
  trainable; `moving_mean` and `moving_variance` are not, and are saved in
  checkpoints like every variable.

  Example:

    bn = BatchNormalization()
    y = bn(x, training=True)    # batch statistics; moving ones updated
    y = bn(x)                   # moving statistics
    bn.trainable = False
    y = bn(x, training=True)    # frozen: moving statistics, no update
  """

  def __init__(self, axis: int = -1, momentum: float = 0.99,
               epsilon: float = 1e-3, center: bool = True,
               scale: bool = True, synchronized: bool = False,
               beta_initializer="zeros", gamma_initializer="ones",
               name: str | None = None, trainable: bool = True):
    """Creates the layer (variables come on the first call).

    Args:
      axis: the feature axis; -1 (channels last) is the only one supported.
      momentum: weight of the old moving statistics, in [0, 1].
      epsilon: added to the variance before the square root, > 0.
      center: learn an offset `beta`.
      scale: learn a factor `gamma`.
      synchronized: under a multi-replica strategy, use the global batch's
        statistics (all-reduced) instead of each replica's.
      beta_initializer: name or callable for `beta`.
      gamma_initializer: name or callable for `gamma`.
      name: module name (default "batch_normalization").
      trainable: False freezes the layer (inference mode, see above).

    Raises:
      ValueError: a bad hyperparameter (the message names it).
    """
    super().__init__(name=name or "batch_normalization", trainable=trainable)
    if axis != -1:
      raise ValueError(
          f"{self.name}: only axis=-1 (channels last) is supported, got "
          f"axis={axis}.")
    if not 0.0 <= momentum <= 1.0:
      raise ValueError(
          f"{self.name}: momentum must be in [0, 1], got {momentum}.")
    if epsilon <= 0:
      raise ValueError(f"{self.name}: epsilon must be > 0, got {epsilon}.")
    self.axis = axis
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)
    self.center = bool(center)
    self.scale = bool(scale)
    self.synchronized = bool(synchronized)
    self.beta_initializer = initializers.get(beta_initializer)
    self.gamma_initializer = initializers.get(gamma_initializer)
    self.dtype = None

  def _build(self, x: tf.Tensor) -> None:
    features = x.shape[-1]
    if x.shape.rank is None or x.shape.rank < 2 or features is None:
      raise ValueError(
          f"{self.name}: needs inputs of rank >= 2 with a known last dim, "
          f"got shape {x.shape}.")
    self.dtype = x.dtype
    if self.scale:
      self.gamma = tf.Variable(self.gamma_initializer([features], x.dtype),
                               name="gamma")
    if self.center:
      self.beta = tf.Variable(self.beta_initializer([features], x.dtype),
                              name="beta")
    mean_aggregation = tf.VariableAggregation.MEAN
    self.moving_mean = tf.Variable(
        tf.zeros([features], x.dtype), trainable=False, name="moving_mean",
        aggregation=mean_aggregation)
    self.moving_variance = tf.Variable(
        tf.ones([features], x.dtype), trainable=False,
        name="moving_variance", aggregation=mean_aggregation)

  def __call__(self, x, training=False) -> tf.Tensor:
    """Normalises `x`; `training` is a bool or a bool tensor."""
    if self.compute_dtype is None:
      return self._call(x, training)
    x = tf.cast(self.autocast(x), tf.float32)
    return tf.cast(self._call(x, training), self.compute_dtype)

  def _call(self, x, training) -> tf.Tensor:
    x = float_input(x, self.dtype, self.name)
    self._build_once(x)
    if not self.trainable or training is False:
      if x.shape.rank == 4 and x.dtype == tf.float32:
        return self._fused_inference(x)
      return self._infer(x)
    if isinstance(training, bool):
      return self._train(x) if training else self._infer(x)
    return tf.cond(tf.cast(training, tf.bool), lambda: self._train(x),
                   lambda: self._infer(x))

  def _infer(self, x: tf.Tensor) -> tf.Tensor:
    return self._normalize(x, self.moving_mean, self.moving_variance)

  def _fused_inference(self, x: tf.Tensor) -> tf.Tensor:
    """The same inference maths as one FusedBatchNormV3 op.

    Grappler fuses Conv2D + FusedBatchNorm (+ Relu) into one kernel on
    CPU, which the element-wise form of `tf.nn.batch_normalization` misses
    (a frozen InceptionV3 runs about 15% faster).
    """
    features = x.shape[-1]
    scale = self.gamma if self.scale else tf.ones([features], x.dtype)
    offset = self.beta if self.center else tf.zeros([features], x.dtype)
    y, *_ = tf.raw_ops.FusedBatchNormV3(
        x=x, scale=scale, offset=offset, mean=self.moving_mean,
        variance=self.moving_variance, epsilon=self.epsilon,
        is_training=False)
    return y

  def _train(self, x: tf.Tensor) -> tf.Tensor:
    axes = list(range(x.shape.rank - 1))
    if self.synchronized:
      mean, variance = sync_moments(x, axes)
    else:
      mean, variance = tf.nn.moments(x, axes)
    momentum = tf.cast(self.momentum, x.dtype)
    rest = tf.cast(1.0 - self.momentum, x.dtype)
    self.moving_mean.assign(self.moving_mean * momentum + mean * rest)
    self.moving_variance.assign(
        self.moving_variance * momentum + variance * rest)
    return self._normalize(x, mean, variance)

  def _normalize(self, x, mean, variance) -> tf.Tensor:
    return tf.nn.batch_normalization(
        x, mean, variance, offset=self.beta if self.center else None,
        scale=self.gamma if self.scale else None,
        variance_epsilon=self.epsilon)
