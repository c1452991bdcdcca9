"""Training input: raw (oversampled) examples -> Transform graph -> (image, labels) batches.

The Trainer applies the Transform graph itself (Transform does not materialize), so what it
trains on is exactly what the exported model computes from raw bytes at serving time.

Models on a frozen backbone embed every *distinct* poster once: the oversampler repeats
records, so `poster_index` maps each record to its poster, and `make_dataset(keep=...)`
yields only the first record of each poster, in file order.
"""
import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import tensorflow as tf
import tensorflow_transform as tft

from contract import features

_SHUFFLE_BUFFER = 2048


def raw_parse_spec(num_genres: Optional[int] = None) -> Dict[str, Any]:
  """The poster bytes the Transform graph reads and, given the vocabulary's size, the labels:
  the committed schema gives `labels` no fixed length (it is each run's vocabulary size), so
  only code that knows the vocabulary can parse them dense."""
  spec: Dict[str, Any] = {features.IMAGE: tf.io.FixedLenFeature([1], tf.string)}
  if num_genres is not None:
    spec[features.LABELS] = tf.io.FixedLenFeature([num_genres], tf.int64)
  return spec


def records(files: Sequence[str], num_parallel_reads: Optional[int] = None) -> tf.data.Dataset:
  """The records of gzipped TFRecord files, for a pipeline that is read to its end.

  Without tf.data's autotuning: its optimization thread waits between passes for a period
  that doubles up to a minute, and an iterator's destructor waits for that thread. After a
  long read (the Trainer embedding 5,222 train posters, 47 s) the destructor then stalled for
  35 s with every thread idle, in 4 runs of 18 (`git show 014bf2f:BENCHMARKS.md`, "Whole
  uncached run against commit 036df65"). `AUTOTUNE` values then keep their starting points, and the input still
  never kept the backbone waiting (0.5 s of waits in the 47-s split, as with autotuning).
  """
  options = tf.data.Options()
  options.autotune.enabled = False
  return tf.data.TFRecordDataset(files, compression_type='GZIP',
                                 num_parallel_reads=num_parallel_reads).with_options(options)


def matching_files(file_patterns: Sequence[str]) -> List[str]:
  """The files of `file_patterns` (e.g. a Trainer's `train_files`), sorted; at least one."""
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f'No examples match {list(file_patterns)}.')
  return files


@dataclasses.dataclass(frozen=True)
class PosterIndex:
  """Which poster each record of a split holds, in file order."""
  record_poster: np.ndarray  # int [records]: index into the distinct posters
  first_record: np.ndarray  # bool [records]: the first record of its poster
  labels: np.ndarray  # int64 [posters, G], in order of first appearance

  @property
  def num_posters(self) -> int:
    return len(self.labels)


def poster_index(file_patterns: List[str], num_genres: int) -> PosterIndex:
  """Reads only ids and labels (no image decoding): cheap even for a 3x oversampled split."""
  spec = {features.ID: tf.io.FixedLenFeature([], tf.string),
          features.LABELS: tf.io.FixedLenFeature([num_genres], tf.int64)}
  poster_of_id: Dict[bytes, int] = {}
  record_poster, first_record, labels = [], [], []
  batches = records(matching_files(file_patterns)).batch(1024)
  for batch in batches.map(lambda r: tf.io.parse_example(r, spec)):
    for poster_id, poster_labels in zip(batch[features.ID].numpy(),
                                        batch[features.LABELS].numpy()):
      is_new = poster_id not in poster_of_id
      if is_new:
        poster_of_id[poster_id] = len(labels)
        labels.append(poster_labels)
      record_poster.append(poster_of_id[poster_id])
      first_record.append(is_new)
  return PosterIndex(record_poster=np.asarray(record_poster, dtype=np.int64),
                     first_record=np.asarray(first_record, dtype=bool),
                     labels=np.asarray(labels, dtype=np.int64).reshape(-1, num_genres))


def image_shape(tft_output: tft.TFTransformOutput) -> Tuple[int, ...]:
  """The model input's shape of one poster, (height, width, channels)."""
  return tuple(tft_output.transformed_feature_spec()[features.IMAGE_XF].shape)


def model_input(transform_layer: tf.keras.layers.Layer, image_bytes: tf.Tensor) -> tf.Tensor:
  """What the model sees of a batch of posters' bytes (parsed with `raw_parse_spec`): the
  Transform graph's output, as the exported model computes it from raw bytes."""
  return transform_layer({features.IMAGE: image_bytes})[features.IMAGE_XF]


def make_dataset(file_patterns: List[str], tft_output: tft.TFTransformOutput, num_genres: int,
                 batch_size: int, shuffle: bool, seed: int = 0,
                 keep: Optional[np.ndarray] = None) -> tf.data.Dataset:
  """Batches of (image_xf, labels_xf) from gzipped TFRecord tf.Examples.

  `keep`: optional bool mask over the records in file order (e.g. `PosterIndex.first_record`);
  records are then read sequentially so that the mask lines up.
  """
  files = matching_files(file_patterns)
  if keep is not None:
    mask = tf.constant(keep, dtype=tf.bool)
    dataset = (records(files).enumerate()
               .filter(lambda index, _: mask[index]).map(lambda _, record: record))
  else:
    dataset = records(files, num_parallel_reads=tf.data.AUTOTUNE)
  if shuffle:
    dataset = dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
  transform_layer = tft_output.transform_features_layer()
  spec = raw_parse_spec(num_genres)

  def transform(serialized: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    parsed = tf.io.parse_example(serialized, spec)
    return (model_input(transform_layer, parsed[features.IMAGE]),
            tf.cast(parsed[features.LABELS], tf.float32))

  return (dataset.batch(batch_size)
          .map(transform, num_parallel_calls=tf.data.AUTOTUNE)
          .prefetch(tf.data.AUTOTUNE))
