"""File helpers shared by the executors (local paths and gs:// alike, through tf.io.gfile)."""
import hashlib
import os
from typing import Optional

import tensorflow as tf

from models import data


class LostRecordsError(RuntimeError):
  """A Beam write left fewer (or more) records in its files than the pipeline counted."""


def check_written(split_dir: str, what: str, records: Optional[int] = None,
                  distinct: Optional[int] = None) -> None:
  """Raises LostRecordsError unless the gzipped TFRecord files in `split_dir` hold exactly
  `records` records and `distinct` different ones (each check only when given).

  Beam's file writes can lose records without an error. With the DirectRunner's two
  multi_threading workers, PosterExampleGen wrote 5,217 different records for the 5,222 train
  examples it had counted, and the oversampler wrote as many records as it counted (6,334)
  but of only 5,175 different posters, not 5,217 (BENCHMARKS.md, "Ingest and data
  validation"): a count alone misses records written twice in place of others. Reading
  the whole shared data back takes about a second; a silent loss would cost every later
  component its inputs.
  """
  files = tf.io.gfile.glob(os.path.join(split_dir, '*.gz'))
  digests = [hashlib.sha256(record).digest() for record in
             data.records(files).as_numpy_iterator()]
  found = {'records': (len(digests), records), 'distinct records': (len(set(digests)), distinct)}
  wrong = [f'{actual} {kind} instead of {expected}' for kind, (actual, expected) in found.items()
           if expected is not None and actual != expected]
  if wrong:
    raise LostRecordsError(
        f'{what}: {" and ".join(wrong)} in {split_dir}. The Beam runner lost or repeated '
        'records while writing them; rerun with one DirectRunner worker '
        '(--beam-direct-num-workers 1).')


def copy_split(source_dir: str, target_dir: str, prefix: str = '') -> None:
  """Copies a split's files; `prefix` keeps the same file names of several sources apart."""
  tf.io.gfile.makedirs(target_dir)
  for name in tf.io.gfile.listdir(source_dir):
    tf.io.gfile.copy(os.path.join(source_dir, name), os.path.join(target_dir, prefix + name),
                     overwrite=True)


def copy_tree(source: str, destination: str) -> None:
  """Copies the directory `source` into `destination`, creating it, overwriting files."""
  for directory, _, files in tf.io.gfile.walk(source):
    target = os.path.join(destination, os.path.relpath(directory, source))
    tf.io.gfile.makedirs(target)
    for name in files:
      tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name),
                       overwrite=True)
