"""tf.Transform preprocessing: raw encoded poster bytes -> model-ready image, labels -> float.

The same graph is what the exported model applies to raw bytes at serving time, so training
and serving cannot skew. It has no analyzers (nothing depends on dataset statistics), so the
pipeline runs Transform with `materialize=False`: the Trainer applies this graph to the raw
(oversampled) examples itself, and no ~600 KB float poster is ever written to disk in place
of its ~30 KB JPEG.

`custom_config` (from pipeline/configs.py):
  num_genres: the vocabulary size, the length of every `labels` vector.
  image_height, image_width: output size.
  resize_policy: 'pad' keeps the aspect ratio and pads (posters are about 2:3, so a 3:2
    height:width target pads little), 'stretch' resizes to the target, distorting odd
    shapes, 'crop' keeps the aspect ratio and crops the centre.
  normalization: 'unit' scales to [0, 1] (the research notebook's CNN); 'symmetric' scales
    as (x - 127) / 128 (ImageNet EfficientNet-Lite weights).
"""
from typing import Any, Dict

import tensorflow as tf

from components.poster_example_gen import features

# Transformed feature keys.
IMAGE_XF = 'image_xf'
LABELS_XF = 'labels_xf'

RESIZE_POLICIES = ('pad', 'stretch', 'crop')
NORMALIZATIONS = ('unit', 'symmetric')


def decode_and_resize(image_bytes: tf.Tensor, height: int, width: int,
                      resize_policy: str) -> tf.Tensor:
  """One encoded JPEG/PNG (any colour mode) -> float32 [height, width, 3] in [0, 255].

  Grayscale, CMYK, palette and RGBA posters all decode to RGB (`channels=3`); the alpha
  channel of RGBA is dropped.
  """
  image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
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


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, Any]:
  """tf.Transform entry point.

  `labels` is already the multi-hot vector in vocabulary order written by PosterExampleGen,
  so the vocabulary never needs to be known here, only its size: the committed schema gives
  `labels` no fixed length (it differs between runs), so it arrives sparse and is made dense
  [batch, num_genres] here. At serving time the model feeds only `image`; tf.Transform
  prunes the label branch.
  """
  height = int(custom_config['image_height'])
  width = int(custom_config['image_width'])
  resize_policy = custom_config['resize_policy']
  image_bytes = tf.reshape(inputs[features.IMAGE], [-1])
  images = tf.map_fn(
      lambda one: decode_and_resize(one, height, width, resize_policy), image_bytes,
      fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
  return {
      IMAGE_XF: normalize(images, custom_config['normalization']),
      LABELS_XF: tf.cast(tf.reshape(tf.sparse.to_dense(inputs[features.LABELS]),
                                    [-1, int(custom_config['num_genres'])]), tf.float32),
  }
