"""File helpers shared by the executors (local paths and gs:// alike, through tf.io.gfile)."""
import hashlib
import os
import struct
from typing import Optional
import zlib

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io import filesystem
from apache_beam.options import value_provider
import google_crc32c
import tensorflow as tf

from models import data


# A record carries a JPEG, which deflate shrinks by 4 %: stored (level 0) deflate blocks keep
# the files gzip, as the Examples' file format says and every reader expects, at a tenth of
# the time to write and a quarter to read (BENCHMARKS.md, "Growth with the data").
GZIP_LEVEL = 0


def record_options() -> tf.io.TFRecordOptions:
  """How the executors that write TFRecords with TensorFlow write them."""
  return tf.io.TFRecordOptions(compression_type='GZIP', compression_level=GZIP_LEVEL)


def _masked_crc32c(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff


def tfrecord_frame(record: bytes) -> bytes:
  """One TFRecord: length, its masked CRC-32C, the bytes, their masked CRC-32C."""
  length = struct.pack('<Q', len(record))
  return (length + struct.pack('<I', _masked_crc32c(length)) + record
          + struct.pack('<I', _masked_crc32c(record)))


class _GzipRecordSink(fileio.FileSink):
  """TFRecords in a gzip file at GZIP_LEVEL (Beam's own TFRecord sink fixes level 6)."""

  def create_metadata(self, destination, full_file_name):
    # The sink compresses itself: Beam must not add a gzip layer for the '.gz' name.
    return fileio.FileMetadata(mime_type='application/octet-stream',
                               compression_type=filesystem.CompressionTypes.UNCOMPRESSED)

  def open(self, fh):
    self._file = fh
    self._compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

  def write(self, record):
    self._file.write(self._compressor.compress(tfrecord_frame(record)))

  def flush(self):
    # Beam calls flush once, right before it closes the file.
    self._file.write(self._compressor.flush())
    self._file.flush()


def write_records(split_dir: str, prefix: str, temp_dir: str) -> beam.PTransform:
  """Writes a PCollection of serialized records as gzipped TFRecord files `prefix-*.gz` in
  `split_dir`; `temp_dir` (outside `split_dir`) holds them until the write completes."""
  return fileio.WriteToFiles(path=split_dir, file_naming=fileio.default_file_naming(prefix, '.gz'),
                             sink=lambda _: _GzipRecordSink(),
                             temp_directory=value_provider.StaticValueProvider(str, temp_dir))


class LostRecordsError(RuntimeError):
  """A Beam write left fewer (or more) records in its files than the pipeline counted."""


def check_written(split_dir: str, what: str, records: Optional[int] = None,
                  distinct: Optional[int] = None) -> None:
  """Raises LostRecordsError unless the gzipped TFRecord files in `split_dir` hold exactly
  `records` records and `distinct` different ones (each check only when given).

  Beam's file writes can lose records without an error. With the DirectRunner's two
  multi_threading workers, PosterExampleGen wrote 5,217 different records for the 5,222 train
  examples it had counted, and the oversampler wrote as many records as it counted (6,334)
  but of only 5,175 different posters, not 5,217 (3838116, tensorflow/tfx#7856): a count
  alone misses records written twice in place of others. Reading the whole shared data back
  takes about a second; a silent loss would cost every later component its inputs.
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
