r"""Shows what a vision model sees: `python -m trainers.visualize`.

    python -m trainers.visualize --model_dir=D --image=F

The course's "visualizing intermediate representations": the image goes
through the restored model and every Conv2D and MaxPool2D output is
written as a TensorBoard image (one grid per layer, one tile per channel,
each channel standardised like the course's notebook: (x - mean) / std *
64 + 128, clipped to 0..255). The first convolution's filters are written
too, each scaled to 0..1. Everything goes to model_dir/visualize/:

    tensorboard --logdir D/visualize
"""

from __future__ import annotations

import math
import os

from absl import flags

from trainers.common import cli
from trainers.common import flags as common_flags

common_flags.define_model_dir_flag(required=True)
flags.DEFINE_string("image", None, "The image file to run through the model.")
flags.mark_flag_as_required("image")
flags.DEFINE_integer("filter_zoom", 8, "Pixels per filter weight in the "
                     "filter grid (filters are only 3x3).")
flags.register_validator("filter_zoom", lambda v: v > 0,
                         message="--filter_zoom must be positive")
FLAGS = flags.FLAGS
LOG_SUBDIR = "visualize"


def tile(images):
  """[N, H, W, C] -> [1, rows * H, cols * W, C], near-square, 0-padded."""
  import numpy as np
  count, height, width, channels = images.shape
  cols = math.ceil(math.sqrt(count))
  rows = math.ceil(count / cols)
  padded = np.zeros([rows * cols, height, width, channels], images.dtype)
  padded[:count] = images
  grid = padded.reshape(rows, cols, height, width, channels)
  grid = grid.transpose(0, 2, 1, 3, 4)
  return grid.reshape(1, rows * height, cols * width, channels)


def feature_grid(maps):
  """One layer's [H, W, C] output as a uint8 grid of C standardised tiles."""
  import numpy as np
  maps = np.asarray(maps, np.float64).transpose(2, 0, 1)  # [C, H, W]
  mean = maps.mean(axis=(1, 2), keepdims=True)
  std = maps.std(axis=(1, 2), keepdims=True)
  scaled = (maps - mean) / np.where(std > 0, std, 1.0) * 64 + 128
  pixels = np.clip(scaled, 0, 255).astype(np.uint8)
  return tile(pixels[..., np.newaxis])


def filter_grid(kernel, zoom: int):
  """A first-layer kernel [kh, kw, in, out] as a uint8 grid of `out` tiles.

  Each filter is scaled to 0..255 by its own min and max; RGB inputs give
  colour tiles, others are averaged to gray.
  """
  import numpy as np
  filters = np.asarray(kernel, np.float64).transpose(3, 0, 1, 2)
  if filters.shape[-1] not in (1, 3):
    filters = filters.mean(axis=-1, keepdims=True)
  low = filters.min(axis=(1, 2, 3), keepdims=True)
  span = filters.max(axis=(1, 2, 3), keepdims=True) - low
  scaled = (filters - low) / np.where(span > 0, span, 1.0) * 255
  pixels = np.rint(scaled).astype(np.uint8)
  pixels = pixels.repeat(zoom, axis=1).repeat(zoom, axis=2)
  return tile(pixels)


def write_visualization(model, image, writers, step: int, zoom: int
                        ) -> tuple[list[str], str | None, int]:
  """Writes feature-map grids and first-layer filters.

  Returns:
    (feature-map tags, filter tag or None, number of filters).
  """
  from engine.modules.conv import Conv2D
  from engine.modules.pool import MaxPool2D
  tags, filter_tag, filter_count = [], None, 0
  for index, (layer, output) in enumerate(
      model.intermediate_outputs(image, training=False)):
    if not isinstance(layer, (Conv2D, MaxPool2D)):
      continue
    tag = f"feature_maps/{index:02d}_{layer.name}"
    writers.images(LOG_SUBDIR, tag, feature_grid(output[0].numpy()), step)
    tags.append(tag)
    if filter_tag is None and isinstance(layer, Conv2D):
      filter_tag = f"filters/{index:02d}_{layer.name}"
      filter_count = int(layer.w.shape[-1])
      writers.images(LOG_SUBDIR, filter_tag, filter_grid(layer.w.numpy(),
                                                         zoom), step)
  return tags, filter_tag, filter_count


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from engine.summaries import SummaryWriters
  from data.images import bundles as image_bundles
  from trainers.common import session
  recipe, hparams = session.load_run(FLAGS.model_dir)
  spec = session.input_spec(recipe, hparams, FLAGS.model_dir)
  model_input = spec[0]
  if model_input.shape.rank != 4:
    raise cli.UsageError(f"model {recipe.name!r} does not take images (input "
                         f"{model_input.shape}); trainers.visualize serves "
                         f"the vision models")
  info = image_bundles.read_class_info(FLAGS.model_dir) or {}
  image = image_bundles.load_image_files(
      [FLAGS.image], model_input.shape[1:],
      info.get("rescale", image_bundles.RESCALE))
  trainer = session.restored_trainer(recipe, hparams, FLAGS.model_dir, spec)
  if not hasattr(trainer.model, "intermediate_outputs"):
    raise cli.UsageError(f"model {recipe.name!r} is not a Sequential; its "
                         f"layer outputs cannot be listed")
  writers = SummaryWriters(FLAGS.model_dir)
  step = int(trainer.global_step.numpy())
  tags, filter_tag, filter_count = write_visualization(
      trainer.model, image, writers, step, FLAGS.filter_zoom)
  writers.close()
  logdir = os.path.join(FLAGS.model_dir, LOG_SUBDIR)
  if not tags:
    raise cli.UsageError(f"model {recipe.name!r} has no Conv2D or MaxPool2D "
                         f"layer to visualize")
  print(f"feature maps of {len(tags)} conv/pool layers for {FLAGS.image} "
        f"(step {step}): {', '.join(tag.split('/')[1] for tag in tags)}")
  if filter_tag:
    print(f"{filter_count} filters of {filter_tag.split('/')[1]}")
  print(f"written to {logdir}; view with: tensorboard --logdir {logdir}")


if __name__ == "__main__":
  cli.run(main)
