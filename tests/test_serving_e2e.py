"""The TF Serving contract of the pushed model, and the prediction CLI on real posters.

`tensorflow_model_server` cannot run here, so the model is called exactly as TF Serving
would call it: REST bodies decoded by tests/tf_serving_rest.py, warmup records replayed
against `serving_default`.
"""
import io
import json
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from contract import vocabulary
from models import batch_predict
from models import export
from models import thresholds
from models import warmup
from poster_predict import cli
from poster_predict import local_model
from poster_predict import rest_client
from tests import synthetic
from tests import tf_serving_rest

pytestmark = pytest.mark.e2e

MODEL_NAME = 'poster-genres'
CLI_POSTERS = 20


@pytest.fixture(scope='module')
def pushed_model_dir(e2e_pipeline_run):
  config, _, _ = e2e_pipeline_run
  return local_model.newest_version(config.serving_model_dir)


@pytest.fixture(scope='module')
def serve(pushed_model_dir):
  return tf.saved_model.load(pushed_model_dir).signatures['serving_default']


@pytest.fixture(scope='module')
def test_split(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  return batch_predict.read_split(runs['PosterExampleGen'].output_uris['examples'][0], 'test')


@pytest.fixture(scope='module')
def poster_dir(test_split, tmp_path_factory):
  """Up to CLI_POSTERS real `test` posters as files, as a user would have them."""
  directory = tmp_path_factory.mktemp('posters')
  for poster_id, data in list(zip(test_split.ids, test_split.images))[:CLI_POSTERS]:
    (directory / f'{poster_id}.jpg').write_bytes(data)
  return directory


@pytest.fixture(scope='module')
def bad_files(test_split, tmp_path_factory):
  """One file of each kind of bad input, by name."""
  directory = tmp_path_factory.mktemp('bad')
  files = {}
  for kind, data in _bad_bytes(test_split.images[0]).items():
    files[kind] = directory / f'{kind}.jpg'
    files[kind].write_bytes(data)
  return {kind: str(path) for kind, path in files.items()}


def _bad_bytes(good):
  """Non-image, empty and truncated-JPEG bytes, by kind."""
  return {'notimage': b'<html>not a poster</html>', 'empty': b'',
          'truncated': good[:len(good) // 3]}


def test_rest_row_and_columnar_bodies_run_the_serving_signature(serve, test_split):
  batch = test_split.images[:4]
  row_body = rest_client.request_body(batch)
  columnar_body = {'signature_name': 'serving_default',
                   'inputs': {'image_bytes': row_body['instances']}}
  direct = serve(image_bytes=tf.constant(batch))
  for body in (row_body, json.loads(json.dumps(columnar_body))):
    outputs = serve(**tf_serving_rest.signature_inputs(json.loads(json.dumps(body)), serve))
    assert set(outputs) == {'scores', 'classes', 'predicted', 'status'}
    np.testing.assert_allclose(outputs['scores'].numpy(), direct['scores'].numpy(), atol=1e-6)
    assert outputs['classes'].numpy().tolist() == direct['classes'].numpy().tolist()
    assert outputs['scores'].shape == (len(batch), len(test_split.genres))
  answer = tf_serving_rest.rest_answer(row_body, direct)
  parsed = rest_client.parse_predictions(json.loads(json.dumps(answer)))
  assert [list(output.classes) for output in parsed] == [list(test_split.genres)] * len(batch)


def test_pushed_model_ships_the_genre_vocabulary_as_an_asset(pushed_model_dir, test_split):
  assert vocabulary.read_vocabulary(os.path.join(pushed_model_dir, 'assets')) == test_split.genres


def test_pushed_model_ships_warmup_requests_that_replay(pushed_model_dir, serve, test_split):
  """Needs the Trainer to pass warmup posters to export_model (models/trainer.py run_fn)."""
  records = warmup.read_warmup_file(pushed_model_dir)
  assert len(records) == warmup.NUM_WARMUP_POSTERS + 1
  for record in records:
    request = record.predict_log.request
    assert request.model_spec.signature_name == 'serving_default'
    inputs = warmup.request_tensors(record)
    assert set(inputs) == {'image_bytes'}
    outputs = serve(**inputs)
    assert outputs['scores'].shape == (len(inputs['image_bytes']), len(test_split.genres))
    # The batched request ends with warmup's empty poster.
    expected = [b'ok'] * len(inputs['image_bytes'])
    if len(expected) > 1:
      expected[-1] = b'empty'
    assert outputs['status'].numpy().tolist() == expected


def test_export_writes_warmup_that_replays_and_vocabulary(e2e_pipeline_run, test_split,
                                                          tmp_path, caplog):
  config, _, runs = e2e_pipeline_run
  tft_output = tft.TFTransformOutput(runs['Transform'].output_uris['transform_graph'][0])
  genres = test_split.genres
  model = tf.keras.Sequential([  # Untrained: the export, not the quality, is under test.
      tf.keras.Input(shape=(config.transform.image_height, config.transform.image_width, 3)),
      tf.keras.layers.GlobalAveragePooling2D(),
      tf.keras.layers.Dense(len(genres), activation='sigmoid')])
  rule = thresholds.DecisionRule(thresholds=[0.5] * len(genres), min_genres=1)
  examples_uri = runs['PosterExampleGen'].output_uris['examples'][0]
  posters = warmup.read_example_images([os.path.join(examples_uri, 'Split-eval', '*')], 3)
  export.export_model(model, tft_output, genres, rule, str(tmp_path / 'warm'),
                      warmup_images=posters)
  loaded = tf.saved_model.load(str(tmp_path / 'warm')).signatures['serving_default']
  records = warmup.read_warmup_file(str(tmp_path / 'warm'))
  assert [len(warmup.request_tensors(r)['image_bytes']) for r in records] == [1, 1, 1, 4]
  for record in records:
    assert loaded(**warmup.request_tensors(record))['predicted'].shape[1] == len(genres)
  assert vocabulary.read_vocabulary(str(tmp_path / 'warm' / 'assets')) == genres

  export.export_model(model, tft_output, genres, rule, str(tmp_path / 'cold'))
  assert not os.path.exists(tmp_path / 'cold' / 'assets.extra')
  assert 'no TF Serving warmup file' in caplog.text


@pytest.fixture(scope='module')
def rest_url(pushed_model_dir):
  with tf_serving_rest.serve(pushed_model_dir, MODEL_NAME) as url:
    yield url


def _png(jpeg):
  """The same poster as a PNG."""
  buffer = io.BytesIO()
  Image.open(io.BytesIO(jpeg)).save(buffer, format='PNG')
  return buffer.getvalue()


def test_one_batch_of_good_and_bad_posters_gets_one_answer_per_poster(serve, pushed_model_dir,
                                                                      rest_url, test_split):
  good = test_split.images[:3]
  batch = [(good[0], 'ok'), (b'<html>not a poster</html>', 'not_an_image'),
           (good[1][:len(good[1]) // 3], 'truncated'), (_png(good[2]), 'ok'),
           (synthetic.uniform_jpeg(20000, 20000), 'ok'), (good[1], 'ok')]
  posters = [poster for poster, _ in batch]
  alone = [serve(image_bytes=tf.constant([poster]))['scores'].numpy()[0] for poster in posters]
  for backend in (local_model.LocalModel(pushed_model_dir),
                  rest_client.RestClient(rest_url, MODEL_NAME)):
    answers = backend.predict(posters)
    assert [answer.status for answer in answers] == [status for _, status in batch]
    for answer, (_, status), scores in zip(answers, batch, alone):
      assert list(answer.classes) == list(test_split.genres)
      if status == 'ok':
        np.testing.assert_allclose(answer.scores, scores, rtol=0, atol=1e-6)
        assert 1 <= sum(answer.predicted) <= 3
      else:
        assert not any(answer.predicted) and not any(answer.scores)


def _run_cli(capsys, argv):
  status = cli.main(argv)
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def test_cli_tags_test_posters_and_reports_bad_files(pushed_model_dir, poster_dir, bad_files,
                                                     test_split, capsys):
  status, out, err = _run_cli(capsys, ['--model', os.path.dirname(pushed_model_dir),
                                       str(poster_dir), *bad_files.values(), 'missing.jpg'])
  assert status == 1
  lines = out.splitlines()
  assert len(lines) == len(os.listdir(poster_dir)) == min(CLI_POSTERS, len(test_split.ids))
  for line in lines:
    source, genres = line.split(': ', 1)
    assert os.path.dirname(source) == str(poster_dir)
    for cell in genres.split(', '):
      genre, probability = cell.rsplit(' ', 1)
      assert genre in test_split.genres and 0.0 <= float(probability) <= 1.0
  for name, path in bad_files.items():
    assert f'{path}: ERROR' in err, name
  assert 'missing.jpg: ERROR no such file or directory' in err
  assert f'{len(lines)} posters tagged' in err and '4 could not be' in err


def test_cli_json_locally_and_through_rest_agree(pushed_model_dir, rest_url, poster_dir,
                                                 bad_files, capsys):
  argv = ['--json', '--top-k', '3', '--batch-size', '8', str(poster_dir),
          bad_files['truncated']]
  status, out, _ = _run_cli(capsys, ['--model', pushed_model_dir, *argv])
  local = json.loads(out)
  rest_status, rest_out, _ = _run_cli(capsys, ['--server', rest_url, *argv])
  served = json.loads(rest_out)
  assert status == rest_status == 1
  assert [p['file'] for p in local['predictions']] == sorted(
      str(poster_dir / name) for name in os.listdir(poster_dir))
  assert local['errors'] == served['errors'] == [
      {'file': bad_files['truncated'], 'error': local['errors'][0]['error']}]
  assert local['errors'][0]['error'].startswith('truncated: ')
  for mine, theirs in zip(local['predictions'], served['predictions'], strict=True):
    assert mine['file'] == theirs['file'] and len(mine['genres']) == 3
    assert [g['genre'] for g in mine['genres']] == [g['genre'] for g in theirs['genres']]
    np.testing.assert_allclose([g['probability'] for g in mine['genres']],
                               [g['probability'] for g in theirs['genres']], atol=1e-5)
    probabilities = [g['probability'] for g in mine['genres']]
    assert probabilities == sorted(probabilities, reverse=True)
    # The decision rule's marks agree too. The default rule (base_rate) gives the minimum slot
    # to the largest margin over a genre's own threshold, which may be a less probable genre,
    # so the marks are compared whole rather than checked on the most probable genre.
    assert [g['predicted'] for g in mine['genres']] == [g['predicted'] for g in theirs['genres']]


def test_cli_stops_with_a_clear_message_when_the_server_is_down(poster_dir, capsys):
  status, _, err = _run_cli(capsys, ['--server', 'http://127.0.0.1:9', '--timeout', '2',
                                     str(poster_dir)])
  assert status == 2
  assert 'Stopped after 0 of' in err and 'Cannot reach http://127.0.0.1:9' in err
