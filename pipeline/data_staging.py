"""Copies a local dataset in the Kaggle layout to Cloud Storage, where cloud tasks can read it.

A kagglehub handle or a local directory resolves to a path on the machine that compiles the
pipeline; Kubeflow / Vertex AI tasks and Dataflow workers cannot see that path. Staging copies
the labels file and the posters once (files already there with the same size are skipped, so
re-staging is cheap) and the pipeline then reads the copy.
"""
import concurrent.futures
import os
from typing import List, Tuple

from absl import logging
import tensorflow as tf

# Cloud Storage round trips dominate; threads overlap them.
_COPY_THREADS = 32


def _copy_if_changed(source: str, target: str) -> bool:
  """Copies unless `target` already holds a file of the same size; True when copied."""
  size = tf.io.gfile.stat(source).length
  if tf.io.gfile.exists(target) and tf.io.gfile.stat(target).length == size:
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
  with concurrent.futures.ThreadPoolExecutor(_COPY_THREADS) as pool:
    copied = sum(pool.map(lambda pair: _copy_if_changed(*pair), pairs))
  logging.info('Staged %s to %s: %d file(s) copied, %d already there.', source_root,
               target_root, copied, len(pairs) - copied)
  return target_root
