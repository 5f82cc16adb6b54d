"""In-graph preprocessing of encoded images, exactly as training did it.

A serving signature receives a batch of encoded files (`tf.string [N]`:
JPEG, PNG, GIF or BMP bytes) and must turn them into the pixels the model
was trained on. The training pipeline (`data.images.image_folder.decode_file`) does:
decode (first frame of a GIF), convert to the model's channels (RGBA loses
alpha, gray is repeated to RGB, RGB becomes gray with ITU-R 601 weights),
resize bilinearly without antialiasing, round to uint8, then scale by
`rescale` (1/255). `decode_images` repeats those ops, so a served image gets
the same float pixels as `trainers.predict` gives the model.

Example:
  pixels = decode_images(tf.constant([open("cat.jpg", "rb").read()]),
                         (150, 150), channels=3, rescale=1 / 255)
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from data.images.image_folder import to_channels


def decode_image(encoded: tf.Tensor, image_size: Sequence[int],
                 channels: int) -> tf.Tensor:
  """One encoded image -> uint8 [height, width, channels], as in training.

  Args:
    encoded: scalar string tensor, the bytes of a JPEG/PNG/GIF/BMP file.
    image_size: (height, width).
    channels: 1, 3 or 4.

  Returns:
    uint8 pixels, resized bilinearly and rounded like
    `data.images.image_folder.decode_file`.
  """
  image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
  image = to_channels(tf.ensure_shape(image, [None, None, None]), channels)
  resized = tf.image.resize(image, image_size, method="bilinear")
  return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def decode_images(encoded: tf.Tensor, image_size: Sequence[int],
                  channels: int, rescale: float) -> tf.Tensor:
  """A batch of encoded images -> float32 [N, height, width, channels].

  Args:
    encoded: string tensor [N] of encoded files.
    image_size: (height, width) the model was trained on.
    channels: the model's input channels.
    rescale: the training pipeline's pixel factor (1/255).

  Returns:
    The model's input pixels.
  """
  height, width = (int(v) for v in image_size)
  pixels = tf.map_fn(
      lambda one: decode_image(one, (height, width), channels), encoded,
      fn_output_signature=tf.TensorSpec([height, width, channels], tf.uint8))
  return tf.cast(pixels, tf.float32) * tf.constant(rescale, tf.float32)
