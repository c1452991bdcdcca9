"""serving_default on synthetic posters: one answer per poster, whatever the batch holds.

A small Transform graph (transform_module's preprocessing_fn, written by tf.Transform) and
an untrained network make a real exported SavedModel in seconds; the REST path goes through
the loopback TF Serving stand-in (tests/tf_serving_rest.py) and the CLI's REST client.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import schema_utils

from contract import features
from contract import serving as serving_contract
from models import batch_predict
from models import data
from models import embeddings
from models import export
from models import preprocessing
from models import thresholds
from models import transfer
from models import warmup
from poster_predict import rest_client
from tests import synthetic
from tests import tf_serving_rest
import transform_module

GENRES = ['Action', 'Comedy', 'Drama', 'Horror', 'Romance']
CONFIG = {'image_height': 96, 'image_width': 64,
          'resize_policy': 'pad', 'normalization': 'symmetric'}
MODEL_NAME = 'poster-genres'
EMBEDDING_KEY = 'k' * 64


def _png_header_only(width, height):
  """A PNG signature and IHDR chunk claiming width x height, and nothing else."""
  ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
  chunk = struct.pack('>I', len(ihdr)) + b'IHDR' + ihdr + struct.pack(
      '>I', zlib.crc32(b'IHDR' + ihdr))
  return preprocessing.PNG_SIGNATURE + chunk


def _corrupt(jpeg):
  """A complete JPEG (end marker in place) with its headers overwritten in the middle."""
  return jpeg[:20] + b'\x00' * 400 + jpeg[420:]


def _backbone():
  """Stands in for the frozen backbone: images -> an embedding."""
  images = tf.keras.Input(shape=(CONFIG['image_height'], CONFIG['image_width'], 3))
  x = tf.keras.layers.Conv2D(8, 3, strides=2, activation='relu')(images)
  return tf.keras.Model(images, tf.keras.layers.GlobalAveragePooling2D()(x))


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp('signature')
  spec = data.raw_parse_spec()
  with tft_beam.Context(temp_dir=tempfile.mkdtemp(dir=root)):
    with beam.Pipeline() as pipeline:
      raw = pipeline | beam.Create([{'image': [b'']}])
      transform_fn = (raw, tft.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))) | (
          tft_beam.AnalyzeDataset(
              lambda inputs: transform_module.preprocessing_fn(inputs, CONFIG)))
      _ = transform_fn | tft_beam.WriteTransformFn(str(root / 'transform'))
  tf.keras.utils.set_random_seed(0)
  # Untrained: the contract, not the quality, is under test.
  backbone = _backbone()
  head = tf.keras.Sequential([tf.keras.Input(shape=(8,)),
                              tf.keras.layers.Dense(len(GENRES), activation='sigmoid')])
  model = transfer.compose(backbone, head, name='test')
  # Thresholds of 0 would give every genre: only the cap limits what a poster gets.
  rule = thresholds.DecisionRule(thresholds=[0.0] * len(GENRES), min_genres=1, max_genres=3)
  export.export_model(model, tft.TFTransformOutput(str(root / 'transform')), GENRES, rule,
                      str(root / 'model'),
                      warmup_images=[synthetic.poster_bytes(seed=i) for i in range(3)],
                      head=head, embedding_key=EMBEDDING_KEY)
  backbone.save(str(root / 'backbone'), save_format='tf')
  return str(root / 'model')


@pytest.fixture(scope='module')
def serve(model_dir):
  return tf.saved_model.load(model_dir).signatures[serving_contract.SERVING_SIGNATURE]


@pytest.fixture(scope='module')
def mixed_batch():
  """(posters, expected status) of a batch that holds every kind of poster."""
  good = synthetic.poster_bytes(width=200, height=300, seed=1)
  return [
      (good, 'ok'),
      (b'<html>not a poster</html>', 'not_an_image'),
      (good[:len(good) // 3], 'truncated'),
      (synthetic.poster_bytes(width=120, height=180, mode='P', image_format='PNG', seed=2),
       'ok'),
      (synthetic.uniform_jpeg(20000, 20000), 'ok'),  # Decoded at 1/8 scale.
      (synthetic.poster_bytes(width=90, height=140, mode='CMYK', seed=3), 'ok'),
      (b'', 'empty'),
      (synthetic.poster_bytes(image_format='GIF'), 'unsupported_format'),
      (_png_header_only(20000, 20000), 'too_large'),
      (_corrupt(good), 'corrupt'),
      (good, 'ok'),
  ]


def _check_answers(outputs, mixed_batch, alone):
  """One answer per poster; good posters' scores as alone, bad ones with no genre."""
  statuses = [status.decode() for status in outputs['status']]
  assert statuses == [expected for _, expected in mixed_batch]
  assert len(outputs['scores']) == len(outputs['predicted']) == len(mixed_batch)
  for row, (poster, expected) in enumerate(mixed_batch):
    assert list(outputs['classes'][row]) == GENRES
    if expected == 'ok':
      # As alone up to float32 rounding: without oneDNN (the default on AMD CPUs) TensorFlow's
      # matrix kernels sum in an order that depends on the batch's size, which moves the last
      # bit; a poster's content never reaches another's scores.
      np.testing.assert_allclose(outputs['scores'][row], alone(poster), rtol=1e-6, atol=1e-7)
      assert 1 <= sum(outputs['predicted'][row]) <= 3
    else:
      assert sum(outputs['predicted'][row]) == 0
      assert not np.any(outputs['scores'][row])


def test_every_poster_gets_its_own_answer_in_one_batch(serve, mixed_batch):
  outputs = serve(image_bytes=tf.constant([poster for poster, _ in mixed_batch]))
  outputs = {name: tensor.numpy() for name, tensor in outputs.items()}
  outputs['classes'] = [[name.decode() for name in row] for row in outputs['classes']]

  def alone(poster):
    return serve(image_bytes=tf.constant([poster]))['scores'].numpy()[0]

  _check_answers(outputs, mixed_batch, alone)
  assert set(outputs) == {'scores', 'classes', 'predicted', 'status'}


def test_every_poster_gets_its_own_answer_through_rest(model_dir, serve, mixed_batch):
  with tf_serving_rest.serve(model_dir, MODEL_NAME) as url:
    client = rest_client.RestClient(url, MODEL_NAME)
    answers = client.predict([poster for poster, _ in mixed_batch])

    def alone(poster):
      return np.array(client.predict([poster])[0].scores)

    outputs = {'status': [answer.status.encode() for answer in answers],
               'scores': np.array([answer.scores for answer in answers]),
               'predicted': [answer.predicted for answer in answers],
               'classes': [list(answer.classes) for answer in answers]}
    _check_answers(outputs, mixed_batch, alone)


def test_a_batch_of_only_bad_posters_is_answered(serve):
  outputs = serve(image_bytes=tf.constant([b'', b'GIF89a', b'\xff\xd8\xff\xe0']))
  assert outputs['status'].numpy().tolist() == [b'empty', b'unsupported_format', b'truncated']
  assert outputs['scores'].shape == (3, len(GENRES))
  assert not outputs['predicted'].numpy().any()


def test_a_blank_poster_gets_at_most_three_genres(serve):
  blank = synthetic.uniform_jpeg(8000, 12000)
  outputs = serve(image_bytes=tf.constant([blank]))
  assert outputs['status'].numpy().tolist() == [b'ok']
  # Every threshold is 0 here, so without the cap all five genres would be predicted.
  assert outputs['predicted'].numpy().sum() == 3


def test_warmup_replays_with_one_status_per_poster(model_dir, serve):
  records = warmup.read_warmup_file(model_dir)
  assert [len(warmup.request_tensors(r)['image_bytes']) for r in records] == [1, 1, 1, 4]
  for record in records:
    statuses = serve(**warmup.request_tensors(record))['status'].numpy().tolist()
    expected = [b'ok'] * 3 + [b'empty'] if len(statuses) == 4 else [b'ok']
    assert statuses == expected


def test_every_status_has_a_message():
  assert set(serving_contract.STATUS_MESSAGES) == set(serving_contract.STATUSES)


# The console script that `pip install` made, as a user runs it: not the checkout's module.
CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable), 'postergenre-predict')


def _run_installed(argv, cwd, **env):
  if not os.path.exists(CONSOLE_SCRIPT):
    pytest.fail(f'{CONSOLE_SCRIPT} is not installed: run scripts/setup_env.sh')
  environment = {name: value for name, value in os.environ.items()
                 if name not in ('PYTHONPATH', 'POSTER_SERVING_MODEL_DIR', 'POSTER_OUTPUT_DIR')}
  return subprocess.run([CONSOLE_SCRIPT, *argv], cwd=cwd, env={**environment, **env},
                        capture_output=True, text=True, timeout=300)


@pytest.fixture
def poster_files(tmp_path):
  directory = tmp_path / 'posters'
  directory.mkdir()
  (directory / 'poster.jpg').write_bytes(synthetic.poster_bytes(width=200, height=300))
  (directory / 'notes.jpg').write_bytes(b'<html>not a poster</html>')
  return directory


def test_the_installed_console_script_uses_poster_serving_model_dir(model_dir, poster_files,
                                                                    tmp_path):
  workdir = tmp_path / 'elsewhere'
  workdir.mkdir()
  completed = _run_installed(['--json', str(poster_files / 'poster.jpg'),
                              str(poster_files / 'notes.jpg')], workdir,
                             POSTER_SERVING_MODEL_DIR=model_dir)
  assert completed.returncode == 1, completed.stderr  # One poster could not be tagged.
  document = json.loads(completed.stdout)
  assert document['model'] == f'SavedModel {model_dir}'
  (tagged,) = document['predictions']
  assert tagged['file'] == str(poster_files / 'poster.jpg')
  assert 1 <= len(tagged['genres']) <= 3
  assert document['errors'] == [{
      'file': str(poster_files / 'notes.jpg'),
      'error': f"not_an_image: {serving_contract.STATUS_MESSAGES['not_an_image']}"}]


def test_the_installed_console_script_finds_a_default_run_under_the_current_directory(
    model_dir, poster_files, tmp_path):
  checkout = tmp_path / 'checkout'
  shutil.copytree(model_dir, checkout / 'tfx_pipeline_output' / 'serving_model' /
                  'poster-genres' / '1700000000')
  completed = _run_installed([str(poster_files / 'poster.jpg')], checkout)
  assert completed.returncode == 0, completed.stderr
  assert completed.stdout.startswith(f"{poster_files / 'poster.jpg'}: ")
  assert 'posters tagged with SavedModel ' + str(
      checkout / 'tfx_pipeline_output' / 'serving_model' / 'poster-genres' / '1700000000'
  ) in completed.stderr

  empty = tmp_path / 'empty'
  empty.mkdir()
  completed = _run_installed([str(poster_files / 'poster.jpg')], empty)
  assert completed.returncode == 2
  looked_in = empty / 'tfx_pipeline_output' / 'serving_model' / 'poster-genres'
  assert f'looked for the newest pushed model in {looked_in}' in completed.stderr
  assert 'POSTER_SERVING_MODEL_DIR' in completed.stderr


def _poster_example(image: bytes) -> bytes:
  example = tf.train.Example()
  feature = example.features.feature
  feature[features.IMAGE].bytes_list.value.append(image)
  feature[features.IMAGE_SHA256].bytes_list.value.append(b'0' * 64)
  feature[features.LABELS].int64_list.value.extend([0] * len(GENRES))
  return example.SerializeToString()


def test_the_head_on_stored_embeddings_scores_as_the_whole_model_on_the_posters(
    model_dir, tmp_path):
  """What the Evaluators rely on to score on PosterEmbedder's entries: every poster scores
  the same through embedding_tf_example as through serving_tf_example and serving_default."""
  posters = [synthetic.poster_bytes(width=60 + 7 * i, height=90 + 11 * i, seed=i)
             for i in range(9)]
  path = str(tmp_path / 'posters.gz')
  with tf.io.TFRecordWriter(path, 'GZIP') as writer:
    for poster in posters:
      writer.write(_poster_example(poster))
  backbone = tf.keras.models.load_model(os.path.join(os.path.dirname(model_dir), 'backbone'))
  tft_output = tft.TFTransformOutput(os.path.join(os.path.dirname(model_dir), 'transform'))
  embedded = [embeddings.with_embedding(record, EMBEDDING_KEY, embedding)
              for record, embedding in embeddings.embed_records(
                  backbone, tft_output, [path], batch_size=4, description='test')]
  loaded = tf.saved_model.load(model_dir)
  assert export.read_embedding_key(model_dir) == EMBEDDING_KEY
  on_embeddings = loaded.signatures[serving_contract.EMBEDDING_SIGNATURE](
      examples=tf.constant(embedded))
  on_posters = loaded.signatures[serving_contract.TF_EXAMPLE_SIGNATURE](
      examples=tf.constant(embedded))
  served = loaded.signatures[serving_contract.SERVING_SIGNATURE](image_bytes=tf.constant(posters))
  for name in ('scores', 'predicted'):
    np.testing.assert_allclose(on_embeddings[name].numpy(), on_posters[name].numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(on_embeddings[name].numpy(), served[name].numpy(),
                               rtol=1e-5, atol=1e-5)
  assert on_embeddings['classes'].numpy().tolist() == on_posters['classes'].numpy().tolist()
  # What the slice report scores its mistakes with.
  from_examples = batch_predict.score_examples(model_dir, embedded,
                                               serving_contract.EMBEDDING_SIGNATURE, batch_size=4)
  from_posters = batch_predict.score(model_dir, posters, batch_size=4)
  np.testing.assert_allclose(from_examples[0], from_posters[0], rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(from_examples[1], from_posters[1])
  assert from_examples[2] == from_posters[2] == tuple(GENRES)


def test_the_head_refuses_an_embedding_of_another_backbone_or_preprocessing(model_dir):
  stale = embeddings.with_embedding(_poster_example(synthetic.poster_bytes(seed=1)), 'x' * 64,
                                    np.zeros(8, np.float32))
  head = tf.saved_model.load(model_dir).signatures[serving_contract.EMBEDDING_SIGNATURE]
  with pytest.raises(tf.errors.InvalidArgumentError, match='another backbone'):
    head(examples=tf.constant([stale]))
