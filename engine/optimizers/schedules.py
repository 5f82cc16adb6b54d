"""Learning-rate schedules.

Step schedules are `callable(step) -> lr`: pass one as an optimizer's
`learning_rate` and it is evaluated at `optimizer.iterations` (0 for the
first update), as in Keras. `exponential_sweep` is different: a function of
the EPOCH for the per-epoch learning-rate hook (the course's LR sweep).
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf


class ExponentialDecay:
  """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

  With `staircase=True` the exponent is `floor(step / decay_steps)`.

  Example:
    lr = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    optimizer = SGD(learning_rate=lr)
  """

  def __init__(self, initial_learning_rate: float, decay_steps: int,
               decay_rate: float, staircase: bool = False):
    """Stores the hyperparameters.

    Raises:
      ValueError: if `decay_steps` is not positive.
    """
    if decay_steps <= 0:
      raise ValueError(f"ExponentialDecay: decay_steps must be > 0, got "
                       f"{decay_steps}.")
    self.initial_learning_rate = initial_learning_rate
    self.decay_steps = decay_steps
    self.decay_rate = decay_rate
    self.staircase = staircase

  def __call__(self, step) -> tf.Tensor:
    """The learning rate (float32 scalar) at optimizer step `step`."""
    exponent = (tf.cast(step, tf.float32)
                / tf.cast(self.decay_steps, tf.float32))
    if self.staircase:
      exponent = tf.floor(exponent)
    return (tf.cast(self.initial_learning_rate, tf.float32)
            * tf.pow(tf.cast(self.decay_rate, tf.float32), exponent))


class PiecewiseConstant:
  """Constant pieces: `values[i]` while `boundaries[i-1] < step <= b[i]`.

  `values[0]` applies for `step <= boundaries[0]` and `values[-1]` for
  `step > boundaries[-1]` (Keras's PiecewiseConstantDecay).

  Example:
    lr = PiecewiseConstant(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
  """

  def __init__(self, boundaries: Sequence[float], values: Sequence[float]):
    """Stores the pieces.

    Raises:
      ValueError: unless `len(values) == len(boundaries) + 1` and the
        boundaries increase.
    """
    if len(values) != len(boundaries) + 1:
      raise ValueError(
          f"PiecewiseConstant: need one more value than boundaries, got "
          f"{len(boundaries)} boundaries {list(boundaries)} and "
          f"{len(values)} values {list(values)}.")
    if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
      raise ValueError(f"PiecewiseConstant: boundaries must increase, got "
                       f"{list(boundaries)}.")
    self.boundaries = list(boundaries)
    self.values = list(values)

  def __call__(self, step) -> tf.Tensor:
    """The learning rate (float32 scalar) at optimizer step `step`."""
    boundaries = tf.constant(self.boundaries, tf.float64)
    step = tf.reshape(tf.cast(step, tf.float64), [1])
    # Number of boundaries strictly below step = index of the piece.
    piece = tf.searchsorted(boundaries, step, side="left")[0]
    return tf.gather(tf.constant(self.values, tf.float32), piece)


def exponential_sweep(lr0: float = 1e-8, factor: float = 10.0,
                      epochs_per_decade: float = 20) -> Callable[[int], float]:
  """The course's LR sweep: `lr0 * factor ** (epoch / epochs_per_decade)`.

  The default is the course's
  `LearningRateScheduler(lambda epoch: 1e-8 * 10**(epoch / 20))`: the
  learning rate grows tenfold every 20 epochs. Use it with the per-epoch
  learning-rate hook, not as an optimizer's step schedule.

  Args:
    lr0: The learning rate of epoch 0.
    factor: Growth per `epochs_per_decade` epochs.
    epochs_per_decade: Epochs per growth by `factor`.

  Returns:
    `fn(epoch) -> float`.

  Raises:
    ValueError: if `lr0` or `epochs_per_decade` is not positive.
  """
  if lr0 <= 0 or epochs_per_decade <= 0:
    raise ValueError(
        f"exponential_sweep: lr0 and epochs_per_decade must be > 0, got "
        f"lr0={lr0}, epochs_per_decade={epochs_per_decade}.")

  def learning_rate_at_epoch(epoch):
    return lr0 * factor ** (epoch / epochs_per_decade)

  return learning_rate_at_epoch
