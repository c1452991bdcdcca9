"""components/artifact_files.check_written: a write that lost or repeated records stops."""
import pytest
import tensorflow as tf

from components import artifact_files


def _write(path, records):
  with tf.io.TFRecordWriter(str(path), options='GZIP') as writer:
    for record in records:
      writer.write(record)


def test_the_records_a_pipeline_counted_pass(tmp_path):
  _write(tmp_path / 'part-0.gz', [b'a', b'b'])
  _write(tmp_path / 'part-1.gz', [b'c', b'c'])
  artifact_files.check_written(str(tmp_path), 'split', records=4, distinct=3)


def test_a_lost_record_stops_the_run(tmp_path):
  _write(tmp_path / 'part-0.gz', [b'a', b'b'])
  with pytest.raises(artifact_files.LostRecordsError,
                     match=r'split: 2 records instead of 3 and 2 distinct records instead of 3'):
    artifact_files.check_written(str(tmp_path), 'split', records=3, distinct=3)


def test_a_record_written_twice_in_place_of_another_stops_the_run(tmp_path):
  # The count is right; only the distinct records show the loss.
  _write(tmp_path / 'part-0.gz', [b'a', b'a', b'b'])
  with pytest.raises(artifact_files.LostRecordsError,
                     match='2 distinct records instead of 3.*--beam-direct-num-workers 1'):
    artifact_files.check_written(str(tmp_path), 'split', records=3, distinct=3)


def test_a_frame_is_the_record_tensorflow_writes(tmp_path):
  path = tmp_path / 'tf.tfrecord'
  with tf.io.TFRecordWriter(str(path)) as writer:
    writer.write(b'poster bytes')
  assert artifact_files.tfrecord_frame(b'poster bytes') == path.read_bytes()


def test_the_beam_writer_leaves_gzip_records_every_reader_reads(tmp_path):
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  records = [f'record {i}'.encode() * (i % 50) for i in range(300)]
  split_dir, temp_dir = tmp_path / 'Split-train', tmp_path / 'tmp'
  with beam.Pipeline() as pipeline:
    _ = (pipeline | beam.Create(records)
         | artifact_files.write_records(str(split_dir), 'data_tfrecord', str(temp_dir)))
  files = sorted(p.name for p in split_dir.iterdir())
  assert files and all(name.startswith('data_tfrecord-') and name.endswith('.gz')
                       for name in files)
  read = [r for r in tf.data.TFRecordDataset([str(split_dir / n) for n in files],
                                             compression_type='GZIP').as_numpy_iterator()]
  assert sorted(read) == sorted(records)
  artifact_files.check_written(str(split_dir), 'split', records=300, distinct=len(set(records)))
