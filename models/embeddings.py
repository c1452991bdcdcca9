"""Per-poster embeddings of a frozen backbone: computed once per poster, read by everything after.

PosterEmbedder (components/embedder/) embeds every poster of every split once and writes the
embedding back into its example (contract/features.py: `embedding`, `embedding_key`,
`embedding_checksum`). The Trainer trains its head on them and both Evaluators score both
models on them through the head alone (components/evaluator/signatures.py); with spans on,
the window is made of these embedded examples, so a run embeds only the posters it has never
seen.

An entry is used only if its key and checksum hold for the model that reads it:
- its **key** names what made it: the backbone variant, a digest of the backbone's weights,
  the input shape, and a digest of the Transform graph's output on fixed probe posters (so
  a change of decoding, resizing or normalization, in configuration or in code, changes it;
  the rounding can also flip on another machine's float noise, which only costs a
  recomputation);
- its **checksum** (CRC-32 over the image's SHA-256, the key and the embedding's bytes) catches
  an entry altered after it was written, or moved onto another poster.
Any other entry (stale key, bad checksum, absent) is counted by cause and embedded again
from the image bytes in the same record.
"""
import dataclasses
import hashlib
import json
import zlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from contract import features
from models import data
from models import transfer

# Bump when what an entry means changes (its features, or how embeddings are computed).
# 2: the top features followed by the pooled block features (models/efficientnet_lite.py).
FORMAT_VERSION = 2
SUMMARY_FILE = 'embedding_summary.json'

# Why an entry was not reused.
ABSENT = 'absent'
STALE = 'stale_key'
CORRUPT = 'bad_checksum'


def _probe_posters() -> tf.Tensor:
  """Fixed posters the preprocessing digest is taken on: a JPEG and a PNG of a gradient."""
  rows = np.arange(96, dtype=np.float32)[:, None, None]
  cols = np.arange(64, dtype=np.float32)[None, :, None]
  channels = np.asarray([0.0, 85.0, 170.0], dtype=np.float32)[None, None, :]
  pixels = tf.constant(np.mod(rows * 2.0 + cols * 3.0 + channels, 256.0).astype(np.uint8))
  return tf.stack([tf.io.encode_jpeg(pixels, quality=95), tf.io.encode_png(pixels)])


def _digest(array: np.ndarray, decimals: int) -> str:
  return hashlib.sha256(np.round(np.asarray(array, np.float64), decimals).tobytes()).hexdigest()


def preprocessing_digest(tft_output: tft.TFTransformOutput) -> str:
  """Digest of what the Transform graph makes of the probe posters (rounded to 1e-4, well
  above float noise and well below any real change of decoding or normalization)."""
  images = data.model_input(tft_output.transform_features_layer(),
                            tf.reshape(_probe_posters(), [-1, 1]))
  return _digest(images.numpy(), 4)


def embedding_key(variant: str, backbone: tf.keras.Model,
                  tft_output: tft.TFTransformOutput) -> str:
  """What an embedding is a function of, besides the image: see the module docstring."""
  weights = hashlib.sha256()
  for array in backbone.get_weights():
    weights.update(np.ascontiguousarray(array).tobytes())
  parts = {'format': FORMAT_VERSION, 'variant': variant,
           'input_shape': list(backbone.input_shape[1:]), 'weights': weights.hexdigest(),
           'preprocessing': preprocessing_digest(tft_output)}
  return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def checksum(sha256: bytes, key: bytes, embedding: np.ndarray) -> int:
  crc = zlib.crc32(sha256)
  crc = zlib.crc32(key, crc)
  return zlib.crc32(np.asarray(embedding, np.float32).tobytes(), crc)


def with_embedding(record: bytes, key: str, embedding: np.ndarray) -> bytes:
  """`record` (a serialized poster tf.Example) with its embedding entry added."""
  example = tf.train.Example.FromString(record)
  feature = example.features.feature
  sha256 = feature[features.IMAGE_SHA256].bytes_list.value[0]
  feature[features.EMBEDDING].float_list.value[:] = np.asarray(embedding, np.float32)
  feature[features.EMBEDDING_KEY].bytes_list.value[:] = [key.encode()]
  feature[features.EMBEDDING_CHECKSUM].int64_list.value[:] = [
      checksum(sha256, key.encode(), embedding)]
  return example.SerializeToString()


def embed_records(backbone: tf.keras.Model, tft_output: tft.TFTransformOutput,
                  files: Sequence[str], batch_size: int,
                  description: str) -> Iterator[Tuple[bytes, np.ndarray]]:
  """(record, embedding) for every record of `files`, in order,
  a batch at a time: a span of any size is embedded in the memory of one batch."""
  layer = tft_output.transform_features_layer()
  spec = data.raw_parse_spec()

  def transform(serialized: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    images = tf.io.parse_example(serialized, spec)[features.IMAGE]
    return serialized, data.model_input(layer, images)

  batches = (data.records(files).batch(batch_size)
             .map(transform, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2))
  pending: List[np.ndarray] = []  # Serialized records of the batch being embedded.

  def images() -> Iterator[tf.Tensor]:
    for batch_records, batch_images in batches:
      pending.append(batch_records.numpy())
      yield batch_images

  for embedded in transfer.embed_batches(backbone, images(), description=description):
    yield from zip(pending.pop(0), embedded)


@dataclasses.dataclass
class Reuse:
  """How a split's posters got their embeddings: reused, or embedded again (and why)."""
  posters: int = 0
  reused: int = 0
  recomputed: Dict[str, int] = dataclasses.field(default_factory=dict)
  backbone_views: int = 0  # posters that went through the backbone


def _has_entries(files: Sequence[str]) -> bool:
  for record in data.records(files).take(1):
    return features.EMBEDDING_KEY in tf.train.Example.FromString(
        record.numpy()).features.feature
  return False


def _verified(files: Sequence[str], key: str
              ) -> Iterator[Tuple[Optional[np.ndarray], Optional[str]]]:
  """Per record of `files`, in order: (its embedding, None) when its entry can be trusted
  under `key`, else (None, the cause)."""
  if not _has_entries(files):  # Examples no PosterEmbedder wrote: nothing to read.
    for _ in data.records(files):
      yield None, ABSENT
    return
  spec = {features.IMAGE_SHA256: tf.io.FixedLenFeature([], tf.string),
          features.EMBEDDING: tf.io.VarLenFeature(tf.float32),
          features.EMBEDDING_KEY: tf.io.FixedLenFeature([], tf.string, default_value=b''),
          features.EMBEDDING_CHECKSUM: tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
  for batch in data.records(files).batch(1024).map(lambda r: tf.io.parse_example(r, spec)):
    dense = tf.sparse.to_dense(batch[features.EMBEDDING]).numpy()
    rows = len(batch[features.IMAGE_SHA256])
    sizes = np.bincount(batch[features.EMBEDDING].indices[:, 0].numpy(), minlength=rows)
    stored_keys = batch[features.EMBEDDING_KEY].numpy()
    hashes = batch[features.IMAGE_SHA256].numpy()
    checksums = batch[features.EMBEDDING_CHECKSUM].numpy()
    for i in range(rows):
      if sizes[i] == 0:
        yield None, ABSENT
      elif stored_keys[i] != key.encode():
        yield None, STALE
      else:
        embedding = dense[i, :sizes[i]]
        if checksum(hashes[i], stored_keys[i], embedding) != checksums[i]:
          yield None, CORRUPT
        else:
          yield embedding, None


def untrusted_records(file_patterns: List[str], key: str) -> Dict[str, int]:
  """How many records of the files cannot be trusted to carry the embedding `key` names,
  per cause; empty when every one can."""
  causes: Dict[str, int] = {}
  for _, cause in _verified(data.matching_files(file_patterns), key):
    if cause:
      causes[cause] = causes.get(cause, 0) + 1
  return causes


def cached_embeddings(file_patterns: List[str], index: data.PosterIndex, key: str,
                      embedding_size: int
                      ) -> Tuple[np.ndarray, np.ndarray, Dict[str, int]]:
  """The stored embeddings of a split's posters (in `index` order) that can be trusted.

  Returns (embeddings [P, D], valid [P] bool, causes: how many posters could not be trusted,
  per cause); untrusted rows are zeros.
  """
  posters = index.num_posters
  embeddings = np.zeros((posters, embedding_size), np.float32)
  valid = np.zeros(posters, bool)
  causes: Dict[str, int] = {}
  verified = _verified(data.matching_files(file_patterns), key)
  for record, (embedding, cause) in enumerate(verified):
    if not index.first_record[record]:
      continue
    if cause is None and len(embedding) != embedding_size:
      cause = STALE
    if cause:
      causes[cause] = causes.get(cause, 0) + 1
      continue
    poster = index.record_poster[record]
    embeddings[poster] = embedding
    valid[poster] = True
  return embeddings, valid, causes
