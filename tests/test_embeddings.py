"""models/embeddings.py: a stored embedding is used only when its key and checksum hold."""
import hashlib

import numpy as np
import pytest
import tensorflow as tf

from contract import features
from models import data
from models import embeddings

KEY = 'a' * 64
SIZE = 4


def _example(poster_id: str, image: bytes) -> bytes:
  example = tf.train.Example()
  feature = example.features.feature
  feature[features.ID].bytes_list.value.append(poster_id.encode())
  feature[features.IMAGE_SHA256].bytes_list.value.append(
      hashlib.sha256(image).hexdigest().encode())
  feature[features.LABELS].int64_list.value.extend([1, 0])
  return example.SerializeToString()


def _write(path, records):
  with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type='GZIP')) as writer:
    for record in records:
      writer.write(record)
  return [path]


def _vector(seed):
  return np.random.default_rng(seed).normal(size=SIZE).astype(np.float32)


def _read(files, key=KEY):
  index = data.poster_index(files, num_genres=2)
  return embeddings.cached_embeddings(files, index, key, SIZE)


def test_trusted_entries_are_returned_in_poster_order_and_repeats_read_once(tmp_path):
  a = embeddings.with_embedding(_example('a', b'A'), KEY, _vector(1))
  b = embeddings.with_embedding(_example('b', b'B'), KEY, _vector(2))
  # The oversampler repeats records: `b` twice, `a` once.
  files = _write(str(tmp_path / 'x.gz'), [b, a, b])
  stored, valid, causes = _read(files)
  assert valid.tolist() == [True, True] and causes == {}
  np.testing.assert_array_equal(stored, [_vector(2), _vector(1)])


def test_every_untrusted_entry_is_counted_by_cause_and_left_out(tmp_path):
  good = embeddings.with_embedding(_example('good', b'G'), KEY, _vector(1))
  stale = embeddings.with_embedding(_example('stale', b'S'), 'b' * 64, _vector(2))
  corrupt = tf.train.Example.FromString(
      embeddings.with_embedding(_example('corrupt', b'C'), KEY, _vector(3)))
  corrupt.features.feature[features.EMBEDDING].float_list.value[0] += 1e-3
  # An entry moved onto another poster: its checksum covers the image's digest too.
  moved = tf.train.Example.FromString(_example('moved', b'M'))
  entry = tf.train.Example.FromString(
      embeddings.with_embedding(_example('x', b'X'), KEY, _vector(4)))
  for name in (features.EMBEDDING, features.EMBEDDING_KEY, features.EMBEDDING_CHECKSUM):
    moved.features.feature[name].CopyFrom(entry.features.feature[name])
  absent = _example('absent', b'N')
  files = _write(str(tmp_path / 'x.gz'), [good, stale, corrupt.SerializeToString(),
                                          moved.SerializeToString(), absent])
  stored, valid, causes = _read(files)
  assert valid.tolist() == [True, False, False, False, False]
  assert causes == {embeddings.STALE: 1, embeddings.CORRUPT: 2, embeddings.ABSENT: 1}
  np.testing.assert_array_equal(stored[1:], 0)
  # What the Evaluators check before scoring on the stored embeddings: every record.
  assert embeddings.untrusted_records(files, KEY) == causes
  assert embeddings.untrusted_records(_write(str(tmp_path / 'y.gz'), [good, good]), KEY) == {}


def test_examples_without_entries_are_all_absent(tmp_path):
  files = _write(str(tmp_path / 'x.gz'), [_example('a', b'A'), _example('b', b'B')])
  _, valid, causes = _read(files)
  assert not valid.any() and causes == {embeddings.ABSENT: 2}


@pytest.mark.parametrize('change', ['sha256', 'key', 'embedding'])
def test_the_checksum_covers_every_part_of_an_entry(change):
  parts = dict(sha256=b'0' * 64, key=KEY.encode(), embedding=_vector(1))
  before = embeddings.checksum(**parts)
  if change in ('sha256', 'key'):
    parts[change] = b'1' + parts[change][1:]
  else:
    parts[change] = parts[change] + np.float32(1e-6)
  assert embeddings.checksum(**parts) != before
