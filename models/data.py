"""Training input: raw (oversampled) examples -> Transform graph -> (image, labels) batches.

The Trainer applies the Transform graph itself (Transform does not materialize), so what it
trains on is exactly what the exported model computes from raw bytes at serving time.
"""
import os
from typing import Dict, List, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from components.poster_example_gen import features
import transform_module

_SHUFFLE_BUFFER = 2048


def examples_dir(file_patterns: List[str]) -> str:
  """The Examples artifact directory of `<uri>/Split-<name>/*` file patterns."""
  return os.path.dirname(os.path.dirname(file_patterns[0]))


def raw_parse_spec(num_genres: int, with_labels: bool = True) -> Dict[str, tf.io.FixedLenFeature]:
  spec = {features.IMAGE: tf.io.FixedLenFeature([1], tf.string)}
  if with_labels:
    spec[features.LABELS] = tf.io.FixedLenFeature([num_genres], tf.int64)
  return spec


def make_dataset(file_patterns: List[str], tft_output: tft.TFTransformOutput, num_genres: int,
                 batch_size: int, shuffle: bool, seed: int = 0) -> tf.data.Dataset:
  """Batches of (image_xf, labels_xf) from gzipped TFRecord tf.Examples."""
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'No examples match {file_patterns}.')
  dataset = tf.data.TFRecordDataset(files, compression_type='GZIP',
                                    num_parallel_reads=tf.data.AUTOTUNE)
  if shuffle:
    dataset = dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
  transform_layer = tft_output.transform_features_layer()
  spec = raw_parse_spec(num_genres)

  def transform(serialized: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    transformed = transform_layer(tf.io.parse_example(serialized, spec))
    return transformed[transform_module.IMAGE_XF], transformed[transform_module.LABELS_XF]

  return (dataset.batch(batch_size)
          .map(transform, num_parallel_calls=tf.data.AUTOTUNE)
          .prefetch(tf.data.AUTOTUNE))
