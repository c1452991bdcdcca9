"""RareGenreOversampler's executor: the copies `policy.plan_copies` plans, over every Examples
artifact of a window, each record whole, the other splits copied, the summary right."""
import collections
import json
import os

import numpy as np
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.oversampler import executor
from components.oversampler import policy
from contract import features
from contract import vocabulary as genre_vocabulary

GENRES = ('Drama', 'Comedy', 'Western')


def _record(poster_id, labels, image):
  feature = tf.train.Features(feature={
      features.ID: tf.train.Feature(bytes_list=tf.train.BytesList(value=[poster_id.encode()])),
      features.LABELS: tf.train.Feature(int64_list=tf.train.Int64List(value=labels)),
      features.IMAGE_SHA256: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
  })
  return tf.train.Example(features=feature).SerializeToString()


def _examples(uri, splits):
  artifact = standard_artifacts.Examples()
  artifact.uri = str(uri)
  artifact.split_names = json.dumps(sorted(splits))
  examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
  examples_utils.set_file_format(artifact, 'tfrecords_gzip')
  genre_vocabulary.write_vocabulary(str(uri), GENRES)
  for name, records in splits.items():
    os.makedirs(uri / f'Split-{name}')
    with tf.io.TFRecordWriter(str(uri / f'Split-{name}' / 'data.gz'), 'GZIP') as writer:
      for record in records:
        writer.write(record)
  return artifact


def _read(directory):
  files = tf.io.gfile.glob(os.path.join(directory, '*'))
  return list(tf.data.TFRecordDataset(files, compression_type='GZIP').as_numpy_iterator())


def test_a_window_is_oversampled_as_the_policy_plans(tmp_path):
  rng = np.random.default_rng(0)
  labels = (rng.random((240, 3)) < [0.7, 0.4, 0.05]).astype(np.int64)
  labels[labels.sum(axis=1) == 0, 0] = 1
  records = [_record(f'tt{i}', row.tolist(), f'sha{i}'.encode()) for i, row in enumerate(labels)]
  # The first image again under another Id, in another span: reported, kept.
  records.append(_record('tt-again', labels[0].tolist(), b'sha0'))
  spans = [_examples(tmp_path / 'span0', {'train': records[:150], 'eval': [b'e0']}),
           _examples(tmp_path / 'span1', {'train': records[150:], 'eval': [b'e1']})]
  target = standard_artifacts.Examples()
  target.uri = str(tmp_path / 'out')
  context = executor.Executor.Context(tmp_dir=str(tmp_path / 'tmp'), unique_id='1')
  executor.Executor(context).Do(
      {executor.EXAMPLES_KEY: spans}, {executor.OVERSAMPLED_EXAMPLES_KEY: [target]},
      {executor.SPLIT_KEY: 'train', executor.MAX_COPIES_KEY: 4, executor.MAX_GROWTH_KEY: 1.5})

  window_labels = np.concatenate([labels, labels[:1]])
  planned = policy.plan_copies(window_labels, max_copies=4, max_growth=1.5)
  expected = collections.Counter()
  for record, copies in zip(records, planned):
    expected[record] += int(copies)
  written = _read(os.path.join(target.uri, 'Split-train'))
  assert collections.Counter(written) == expected
  assert sorted(_read(os.path.join(target.uri, 'Split-eval'))) == [b'e0', b'e1']
  with open(os.path.join(target.uri, executor.SUMMARY_FILE)) as f:
    summary = json.load(f)
  assert summary['posters_before'] == 241
  assert summary['examples_after'] == len(written) == planned.sum()
  assert summary['repeated_images'] == 1
  after = (window_labels * planned[:, None]).sum(axis=0)
  assert summary['genre_positives_after'] == dict(zip(GENRES, after.tolist()))
  assert summary['genre_positives_before'] == dict(zip(GENRES, window_labels.sum(0).tolist()))
  assert genre_vocabulary.read_vocabulary(target.uri) == GENRES
  assert target.get_int_custom_property('window_artifacts') == 2
