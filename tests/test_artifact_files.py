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
