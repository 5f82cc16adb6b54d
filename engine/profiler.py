"""A profiler trace of a range of training steps, for TensorBoard's Profile tab.

    hook = ProfileSteps(os.path.join(model_dir, "train"), start=10, stop=20)
    try:
      trainer.fit(data_fn, epochs=5, hooks=[hook])
    finally:
      hook.close()

The trace (`plugins/profile/<run>/*.xplane.pb`) is what
`tf.profiler.experimental.start/stop` writes; TensorBoard shows it with the
`tensorboard-plugin-profile` package (the `profile` extra). Hooks run between
epochs, so the traced range is widened to epoch boundaries: it starts at the
first epoch that begins at or after step START (or contains it) and stops at
the first epoch end at or after step STOP.
"""

from __future__ import annotations

import tensorflow as tf

from engine.hooks import Hook


class ProfileSteps(Hook):
  """Starts the TF profiler at step `start`, stops it at step `stop`.

  Args:
    logdir: where the trace goes (the run's `train/` directory).
    start: first global step to trace (>= 0).
    stop: global step after which tracing ends (> start).
    steps_per_epoch: batches per epoch when known, so the epoch that
      contains `start` is traced from its beginning; None: tracing starts
      at the first epoch that begins at or after `start`.

  Raises:
    ValueError: for a bad range.
  """

  def __init__(self, logdir: str, start: int, stop: int,
               steps_per_epoch: int | None = None):
    if not 0 <= start < stop:
      raise ValueError(f"ProfileSteps needs 0 <= start < stop, got "
                       f"start={start}, stop={stop}")
    self.logdir, self.start, self.stop = logdir, start, stop
    self.steps_per_epoch = steps_per_epoch or 1
    self.active = False
    self.done = False

  def on_epoch_begin(self, trainer, epoch: int) -> None:
    del epoch
    reaches_start = trainer.steps_done + self.steps_per_epoch > self.start
    if (not self.active and not self.done and reaches_start
        and trainer.steps_done < self.stop):
      tf.profiler.experimental.start(self.logdir)
      self.active = True

  def on_epoch_end(self, trainer, epoch, logs) -> bool:
    del epoch, logs
    if self.active and trainer.steps_done >= self.stop:
      self.close()
    return False

  def close(self) -> None:
    """Stops tracing (writing the trace) if it is running."""
    if self.active:
      tf.profiler.experimental.stop()
      self.active = False
      self.done = True
