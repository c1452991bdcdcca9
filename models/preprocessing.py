"""The Transform graph: raw encoded poster bytes -> model-ready image.

The same graph is what the exported model applies to raw bytes at serving time, so training
and serving cannot skew. It has no analyzers (nothing depends on dataset statistics), so the
pipeline runs Transform with `materialize=False`: the Trainer applies this graph to the raw
(oversampled) examples itself, and no ~600 KB float poster is ever written to disk in place
of its ~30 KB JPEG. Labels need no transformation: they are already the multi-hot vector in
vocabulary order that PosterExampleGen wrote, and whoever knows the vocabulary's size (the
Trainer, the exported model) parses them (models/data.py `raw_parse_spec`).

transform_module.py is the Transform's entry point; it builds `TransformConfig` from its
`custom_config` and calls `preprocess`.
"""
from typing import Any, Dict

import tensorflow as tf

from contract import features
from models.settings import NORMALIZATIONS
from models.settings import RESIZE_POLICIES
from models.settings import TransformConfig

# The two formats the model reads, by their leading bytes.
JPEG_SIGNATURE = b'\xff\xd8\xff'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# The scales libjpeg decodes at directly (decode_jpeg's `ratio`), largest reduction first.
JPEG_DCT_RATIOS = (8, 4, 2, 1)


def is_jpeg(image_bytes: tf.Tensor) -> tf.Tensor:
  """Whether each string starts like a JPEG (element-wise, never fails)."""
  return tf.strings.substr(image_bytes, 0, len(JPEG_SIGNATURE)) == JPEG_SIGNATURE


def is_png(image_bytes: tf.Tensor) -> tf.Tensor:
  """Whether each string starts like a PNG (element-wise, never fails)."""
  return tf.strings.substr(image_bytes, 0, len(PNG_SIGNATURE)) == PNG_SIGNATURE


def png_size(image_bytes: tf.Tensor) -> tf.Tensor:
  """(height, width) int64 from one PNG's IHDR chunk, which the PNG format puts first."""
  # Short input reads zeros rather than past its end.
  padded = tf.strings.join([image_bytes, b'\0' * 24])
  fields = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, 16, 8), tf.uint8), tf.int64)
  big_endian = tf.constant([2 ** 24, 2 ** 16, 2 ** 8, 1], tf.int64)
  width = tf.reduce_sum(fields[:4] * big_endian)
  height = tf.reduce_sum(fields[4:] * big_endian)
  return tf.stack([height, width])


def _jpeg_scale(image_bytes: tf.Tensor, height: int, width: int):
  """(source (height, width) int64, index into JPEG_DCT_RATIOS) of one JPEG: the largest
  ratio whose output still covers height x width. Reads the header only."""
  size = tf.cast(tf.io.extract_jpeg_shape(image_bytes)[:2], tf.int64)
  ratios = tf.constant(JPEG_DCT_RATIOS, tf.int64)
  # libjpeg's scaled size is the source size divided by the ratio, rounded up.
  scaled = (size[tf.newaxis, :] + ratios[:, tf.newaxis] - 1) // ratios[:, tf.newaxis]
  covers = tf.reduce_all(scaled >= tf.constant([height, width], tf.int64), axis=1)
  covers = tf.concat([covers[:-1], [True]], axis=0)  # Ratio 1 when even that is smaller.
  return size, tf.cast(tf.argmax(tf.cast(covers, tf.int32)), tf.int32)


def decoded_size(image_bytes: tf.Tensor, height: int, width: int) -> tf.Tensor:
  """(height, width) int64 of the pixels `decode` will produce for one JPEG or PNG, read
  from its header without decoding. Fails on a JPEG whose header cannot be parsed."""
  def jpeg_size():
    size, index = _jpeg_scale(image_bytes, height, width)
    ratio = tf.gather(tf.constant(JPEG_DCT_RATIOS, tf.int64), index)
    return (size + ratio - 1) // ratio
  return tf.cond(is_jpeg(image_bytes), jpeg_size, lambda: png_size(image_bytes))


def decode(image_bytes: tf.Tensor, height: int, width: int) -> tf.Tensor:
  """One encoded JPEG/PNG (any colour mode) -> uint8 RGB, a large JPEG at a reduced scale.

  A JPEG is decoded at 1/8, 1/4 or 1/2 of its size (libjpeg's DCT scaling, decode_jpeg's
  `ratio`), the smallest scale that still covers height x width, so the memory and time of
  decoding a large poster follow the model's input size, not the poster's. Grayscale, CMYK,
  palette and RGBA posters all decode to RGB (`channels=3`); the alpha channel of RGBA is
  dropped.
  """
  def jpeg():
    _, index = _jpeg_scale(image_bytes, height, width)
    return tf.switch_case(index, [
        lambda ratio=ratio: tf.io.decode_jpeg(image_bytes, channels=3, ratio=ratio)
        for ratio in JPEG_DCT_RATIOS])
  return tf.cond(is_jpeg(image_bytes), jpeg, lambda: tf.io.decode_image(
      image_bytes, channels=3, expand_animations=False))


def decode_and_resize(image_bytes: tf.Tensor, height: int, width: int,
                      resize_policy: str) -> tf.Tensor:
  """One encoded JPEG/PNG (any colour mode) -> float32 [height, width, 3] in [0, 255]."""
  image = decode(image_bytes, height, width)
  image = tf.image.convert_image_dtype(image, tf.float32) * 255.0
  if resize_policy == 'stretch':
    image = tf.image.resize(image, [height, width], antialias=True)
  elif resize_policy == 'pad':
    image = tf.image.resize_with_pad(image, height, width, antialias=True)
  elif resize_policy == 'crop':
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.maximum(height / shape[0], width / shape[1])
    scaled = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    image = tf.image.resize(image, scaled, antialias=True)
    image = tf.image.resize_with_crop_or_pad(image, height, width)
  else:
    raise ValueError(f'resize_policy must be one of {RESIZE_POLICIES}, got {resize_policy!r}')
  image = tf.clip_by_value(image, 0.0, 255.0)
  image.set_shape([height, width, 3])
  return image


def normalize(images: tf.Tensor, normalization: str) -> tf.Tensor:
  if normalization == 'unit':
    return images / 255.0
  if normalization == 'symmetric':
    return (images - 127.0) / 128.0
  raise ValueError(f'normalization must be one of {NORMALIZATIONS}, got {normalization!r}')


def preprocess(inputs: Dict[str, Any], config: TransformConfig) -> Dict[str, Any]:
  """tf.Transform's preprocessing: `image` bytes [batch, 1] -> `image_xf` floats."""
  height, width = config.image_height, config.image_width
  image_bytes = tf.reshape(inputs[features.IMAGE], [-1])
  images = tf.map_fn(
      lambda one: decode_and_resize(one, height, width, config.resize_policy), image_bytes,
      fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
  return {features.IMAGE_XF: normalize(images, config.normalization)}
