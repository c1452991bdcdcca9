"""TF Serving warmup records (models/warmup.py), on synthetic posters."""
import pytest
import tensorflow as tf

from contract import serving as serving_contract
from models import warmup
from tests import synthetic


def _build(posters):
  return warmup.build_requests(posters, serving_contract.SERVING_SIGNATURE,
                               serving_contract.IMAGE_BYTES_INPUT)


def test_one_request_per_poster_then_one_batch_of_all():
  posters = [synthetic.poster_bytes(seed=i) for i in range(3)]
  posters.append(synthetic.poster_bytes(mode='L', image_format='PNG'))
  records = _build(posters)
  batches = [warmup.request_tensors(record)[serving_contract.IMAGE_BYTES_INPUT].numpy().tolist()
             for record in records]
  assert batches == [[p] for p in posters] + [posters + [warmup.BAD_WARMUP_POSTER]]
  for record in records:
    assert record.WhichOneof('log_type') == 'predict_log'
    assert record.predict_log.request.model_spec.signature_name == 'serving_default'


def test_written_file_reads_back_as_prediction_logs(tmp_path):
  records = _build([synthetic.poster_bytes(seed=1), synthetic.poster_bytes(seed=2)])
  path = warmup.write_warmup_file(str(tmp_path), records)
  assert path == str(tmp_path / 'assets.extra' / 'tf_serving_warmup_requests')
  assert warmup.read_warmup_file(str(tmp_path)) == records


@pytest.mark.parametrize('bad, reason', [(b'', 'empty_image'),
                                         (b'<html>no poster</html>', 'undecodable_image'),
                                         ('truncated', 'truncated_image')])
def test_a_poster_the_model_cannot_decode_is_refused_by_position(bad, reason):
  good = synthetic.poster_bytes(width=200, height=300)
  if bad == 'truncated':
    bad = good[:len(good) // 3]
  with pytest.raises(ValueError, match=f'Warmup poster 1 .*{reason}'):
    _build([good, bad])


def test_no_posters_is_refused():
  with pytest.raises(ValueError, match='at least one poster'):
    _build([])


def test_example_images_are_the_first_posters_of_the_files(tmp_path):
  posters = [synthetic.poster_bytes(seed=i) for i in range(5)]
  path = str(tmp_path / 'data.gz')
  with tf.io.TFRecordWriter(path, options='GZIP') as writer:
    for poster in posters:
      writer.write(tf.train.Example(features=tf.train.Features(feature={
          'image': tf.train.Feature(bytes_list=tf.train.BytesList(value=[poster]))
      })).SerializeToString())
  assert warmup.read_example_images([str(tmp_path / '*.gz')], 3) == posters[:3]
  with pytest.raises(FileNotFoundError):
    warmup.read_example_images([str(tmp_path / 'missing-*')], 3)
