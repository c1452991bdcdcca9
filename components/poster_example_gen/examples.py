"""Builds the tf.Example of one kept poster."""
from typing import Sequence

import tensorflow as tf

from components.poster_example_gen import buckets
from contract import features
from contract.images import ImageInfo
from contract.vocabulary import multi_hot


def _bytes(values: Sequence[bytes]) -> tf.train.Feature:
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values: Sequence[int]) -> tf.train.Feature:
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values: Sequence[float]) -> tf.train.Feature:
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def build_example(poster_id: str, image: bytes, info: ImageInfo, genres: Sequence[str],
                  vocabulary: Sequence[str]) -> tf.train.Example:
  """`genres` must already be restricted to the vocabulary, in vocabulary order."""
  feature = {
      features.ID: _bytes([poster_id.encode('utf-8')]),
      features.IMAGE: _bytes([image]),
      features.GENRES: _bytes([g.encode('utf-8') for g in genres]),
      features.LABELS: _ints(multi_hot(genres, vocabulary)),
      features.N_GENRES: _ints([len(genres)]),
      features.WIDTH: _ints([info.width]),
      features.HEIGHT: _ints([info.height]),
      features.ASPECT_RATIO: _floats([info.aspect_ratio]),
      features.COLOUR_MODE: _bytes([info.colour_mode.encode('utf-8')]),
      features.IMAGE_FORMAT: _bytes([info.image_format.encode('utf-8')]),
      features.BYTE_SIZE: _ints([info.byte_size]),
      features.MEAN_BRIGHTNESS: _floats([info.mean_brightness]),
      features.IMAGE_SHA256: _bytes([info.sha256.encode('ascii')]),
  }
  for name, bucket in buckets.slicing_buckets(info).items():
    feature[name] = _bytes([bucket.encode('utf-8')])
  return tf.train.Example(features=tf.train.Features(feature=feature))
