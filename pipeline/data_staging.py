"""Copies a local dataset in the Kaggle layout to Cloud Storage, where cloud tasks can read it.

A kagglehub handle or a local directory resolves to a path on the machine that compiles the
pipeline; Kubeflow / Vertex AI tasks and Dataflow workers cannot see that path. Staging copies
the labels file and the posters once (files already there with the same bytes are skipped, so
re-staging is cheap) and the pipeline then reads the copy.
"""
import base64
import concurrent.futures
import os
import posixpath
import sys
from typing import Dict, List, Optional, Tuple

from absl import logging
from google.cloud import storage
import google_crc32c
import tensorflow as tf
import tqdm

# Cloud Storage round trips dominate; threads overlap them.
_COPY_THREADS = 32
_READ_CHUNK_BYTES = 1 << 20

# gs:// path -> (size in bytes, CRC32C as Cloud Storage stores it) of an existing object.
_CloudFingerprints = Dict[str, Tuple[int, str]]


def _crc32c(path: str) -> str:
  """The file's CRC32C as Cloud Storage stores it: the big-endian bytes, base64-encoded."""
  checksum = google_crc32c.Checksum()
  with tf.io.gfile.GFile(path, 'rb') as f:
    for chunk in iter(lambda: f.read(_READ_CHUNK_BYTES), b''):
      checksum.update(chunk)
  return base64.b64encode(checksum.digest()).decode('ascii')


def _cloud_fingerprints(targets: List[str]) -> _CloudFingerprints:
  """Size and CRC32C of the objects already in the gs:// folders of `targets`.

  Listing returns both from object metadata, up to 1,000 objects a request, so nothing is
  downloaded and an unchanged poster costs no request of its own.
  """
  client = storage.Client()
  fingerprints = {}
  for folder in sorted({posixpath.dirname(target) for target in targets}):
    bucket, _, prefix = folder[len('gs://'):].partition('/')
    for blob in client.list_blobs(bucket, prefix=f'{prefix}/' if prefix else '',
                                  delimiter='/'):
      fingerprints[f'gs://{bucket}/{blob.name}'] = (blob.size, blob.crc32c)
  return fingerprints


def _holds_same_bytes(source: str, target: str,
                      cloud_fingerprints: Optional[_CloudFingerprints]) -> bool:
  """Whether `target` already holds the bytes of `source`, decided as `gcloud storage rsync` does.

  Sizes are compared first because they are cheap, but equal sizes are not enough (a
  relabelled CSV can keep its length), so CRC32C checksums decide. For gs:// targets the
  checksum comes from `cloud_fingerprints`; any other target is read.
  """
  size = tf.io.gfile.stat(source).length
  if cloud_fingerprints is not None:
    if target not in cloud_fingerprints:
      return False
    target_size, target_crc32c = cloud_fingerprints[target]
    return target_size == size and target_crc32c == _crc32c(source)
  return (tf.io.gfile.exists(target) and tf.io.gfile.stat(target).length == size
          and _crc32c(target) == _crc32c(source))


def _copy_if_changed(source: str, target: str,
                     cloud_fingerprints: Optional[_CloudFingerprints]) -> bool:
  """Copies unless `target` already holds the same bytes; True when copied."""
  if _holds_same_bytes(source, target, cloud_fingerprints):
    return False
  tf.io.gfile.copy(source, target, overwrite=True)
  return True


def _files_to_copy(source_root: str, target_root: str, labels_file: str,
                   images_dir: str) -> List[Tuple[str, str]]:
  source_images = os.path.join(source_root, images_dir)
  if not tf.io.gfile.isdir(source_images):
    raise FileNotFoundError(f'{source_images} is not a directory of posters.')
  pairs = [(os.path.join(source_root, labels_file), os.path.join(target_root, labels_file))]
  pairs += [(os.path.join(source_images, name), os.path.join(target_root, images_dir, name))
            for name in sorted(tf.io.gfile.listdir(source_images))
            if not tf.io.gfile.isdir(os.path.join(source_images, name))]
  return pairs


def stage_dataset(source_root: str, target_root: str, labels_file: str,
                  images_dir: str) -> str:
  """Copies `labels_file` and the files of `images_dir` under `target_root`; returns it."""
  pairs = _files_to_copy(source_root, target_root, labels_file, images_dir)
  tf.io.gfile.makedirs(os.path.dirname(os.path.join(target_root, labels_file)))
  tf.io.gfile.makedirs(os.path.join(target_root, images_dir))
  cloud_fingerprints = (_cloud_fingerprints([target for _, target in pairs])
                        if target_root.startswith('gs://') else None)
  with concurrent.futures.ThreadPoolExecutor(_COPY_THREADS) as pool:
    copies = pool.map(lambda pair: _copy_if_changed(*pair, cloud_fingerprints), pairs)
    # Thousands of posters take minutes; the bar hides itself when stderr is not a terminal.
    copied = sum(tqdm.tqdm(copies, total=len(pairs), desc='Staging', unit='file',
                           file=sys.stderr, disable=None))
  logging.info('Staged %s to %s: %d file(s) copied, %d already there.', source_root,
               target_root, copied, len(pairs) - copied)
  return target_root
