"""The prediction CLI's parts that need no model: discovery, client-side checks, output."""
import json
import os

import pytest

from contract import serving as serving_contract
from poster_predict import output
from poster_predict import posters as poster_files
from poster_predict import prediction
from poster_predict import rest_client
from tests import synthetic


def _write(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(data)
  return path


def test_directories_are_searched_for_posters_and_missing_paths_reported(tmp_path):
  root = str(tmp_path)
  given = _write(f'{root}/given.webp', b'x')
  nested = _write(f'{root}/dir/sub/b.PNG', synthetic.poster_bytes(image_format='PNG'))
  first = _write(f'{root}/dir/a.jpg', synthetic.poster_bytes())
  _write(f'{root}/dir/notes.txt', b'not a poster')
  os.makedirs(f'{root}/empty')
  files, problems = poster_files.find_poster_files(
      [given, f'{root}/dir', f'{root}/missing.jpg', f'{root}/empty'])
  assert files == [given, first, nested]
  assert problems == [
      poster_files.Problem(f'{root}/missing.jpg', 'no such file or directory'),
      poster_files.Problem(f'{root}/empty', 'no .jpg/.jpeg/.png files in directory')]


def test_files_are_read_whole_and_unreadable_ones_say_why(tmp_path):
  data = synthetic.poster_bytes(mode='L', image_format='PNG')
  assert poster_files.read_poster(_write(str(tmp_path / 'p.png'), data)) == poster_files.Poster(
      str(tmp_path / 'p.png'), data)
  # Whatever is in a file is the model's to judge (its status output), even nothing.
  assert poster_files.read_poster(_write(str(tmp_path / 'e.jpg'), b'')) == poster_files.Poster(
      str(tmp_path / 'e.jpg'), b'')
  os.makedirs(tmp_path / 'dir.jpg')
  problem = poster_files.read_poster(str(tmp_path / 'dir.jpg'))
  assert isinstance(problem, poster_files.Problem)
  assert problem.message.startswith('cannot read file: ')


def _prediction():
  return prediction.to_result('p.jpg', prediction.ModelOutput(
      scores=(0.1, 0.7, 0.4, 0.05), classes=('Action', 'Drama', 'Comedy', 'War'),
      predicted=(0, 1, 1, 0)))


def test_predictions_rank_every_genre_and_keep_the_models_decisions():
  result = _prediction()
  assert [g.genre for g in result.ranked] == ['Drama', 'Comedy', 'Action', 'War']
  assert [g.genre for g in result.genres] == ['Drama', 'Comedy']
  assert [g.genre for g in result.top(3)] == ['Drama', 'Comedy', 'Action']


def test_a_row_outside_the_contract_stops_the_run():
  with pytest.raises(prediction.BackendError, match='2 scores, 1 classes'):
    prediction.to_result('p.jpg', prediction.ModelOutput((0.1, 0.2), ('A',), (0, 1)))


@pytest.mark.parametrize('status', ['empty', 'not_an_image', 'truncated', 'too_large'])
def test_a_poster_the_model_could_not_read_is_a_problem_that_says_why(status):
  result = prediction.to_result('q.jpg', prediction.ModelOutput(
      (0.0, 0.0), ('A', 'B'), (0, 0), status))
  assert result == poster_files.Problem(
      'q.jpg', f'{status}: {serving_contract.STATUS_MESSAGES[status]}')


class _Backend:
  """Answers like a model exported before the status output: a bad poster fails its batch."""
  description = 'test backend'

  def predict(self, batch):
    if b'bad' in batch:
      raise prediction.PredictionError('Unknown image file format')
    return [prediction.ModelOutput((0.9,), ('Drama',), (1,)) for _ in batch]


def test_a_batch_refused_as_a_whole_is_retried_poster_by_poster():
  posters = [poster_files.Poster(name, name.encode()) for name in ('good', 'bad', 'good2')]
  results = prediction.predict_posters(_Backend(), posters)
  assert [type(r) for r in results] == [prediction.PosterPrediction, poster_files.Problem,
                                        prediction.PosterPrediction]
  assert results[1] == poster_files.Problem(
      'bad', 'the model rejected it: Unknown image file format')


def test_text_lines_show_predicted_genres_or_the_marked_top_k():
  assert output.text_line(_prediction(), None) == 'p.jpg: Drama 0.70, Comedy 0.40'
  assert output.text_line(_prediction(), 3) == 'p.jpg: Drama 0.70*, Comedy 0.40*, Action 0.10'
  assert output.text_line(poster_files.Problem('q.jpg', 'empty_image: zero bytes'),
                          None) == 'q.jpg: ERROR empty_image: zero bytes'


def test_json_lists_every_file_once():
  document = json.loads(output.dumps(output.json_document(
      [_prediction(), poster_files.Problem('q.jpg', 'empty_image')], 'SavedModel m', 1)))
  assert document == {
      'model': 'SavedModel m',
      'predictions': [{'file': 'p.jpg', 'genres': [
          {'genre': 'Drama', 'probability': 0.7, 'predicted': True}]}],
      'errors': [{'file': 'q.jpg', 'error': 'empty_image'}]}


@pytest.mark.parametrize('address, url', [
    ('localhost:8501', 'http://localhost:8501'), ('http://h:8501/', 'http://h:8501'),
    ('https://serving.example.com', 'https://serving.example.com'),
    ('10.0.0.7:8501', 'http://10.0.0.7:8501')])
def test_server_addresses_with_or_without_a_scheme(address, url):
  assert rest_client.server_url(address) == url
  assert rest_client.predict_url(address, 'm') == f'{url}/v1/models/m:predict'


@pytest.mark.parametrize('address', ['ftp://host:21', ':8501', 'http://'])
def test_a_server_address_that_is_no_rest_address_says_what_to_give(address):
  with pytest.raises(ValueError, match='host:port'):
    rest_client.server_url(address)


def test_rest_requests_follow_tf_servings_api():
  assert (rest_client.predict_url('http://host:8501/', 'poster-genres')
          == 'http://host:8501/v1/models/poster-genres:predict')
  assert (rest_client.predict_url('http://host:8501', 'poster-genres', 3)
          == 'http://host:8501/v1/models/poster-genres/versions/3:predict')
  assert rest_client.request_body([b'\xff\xd8ab', b'\x89PNG']) == {
      'signature_name': 'serving_default',
      'instances': [{'b64': '/9hhYg=='}, {'b64': 'iVBORw=='}]}


def test_an_answer_outside_the_contract_is_a_clear_error():
  with pytest.raises(prediction.BackendError, match='outside the serving contract'):
    rest_client.parse_predictions({'outputs': {'scores': [[0.1]]}})


def test_answers_carry_each_posters_status():
  answer = {'predictions': [
      {'scores': [0.2], 'classes': ['A'], 'predicted': [1], 'status': 'ok'},
      {'scores': [0.0], 'classes': ['A'], 'predicted': [0], 'status': 'truncated'},
      {'scores': [0.3], 'classes': ['A'], 'predicted': [1]}]}  # Exported before the status.
  assert [output.status for output in rest_client.parse_predictions(answer)] == [
      'ok', 'truncated', 'ok']


def test_newest_version_is_the_highest_numbered_saved_model(tmp_path):
  from poster_predict import local_model  # pylint: disable=g-import-not-at-top
  for version in ('9', '10', '11', 'tmp'):
    os.makedirs(tmp_path / version)
  for version in ('9', '10', 'tmp'):
    (tmp_path / version / 'saved_model.pb').write_bytes(b'')
  assert local_model.newest_version(str(tmp_path)) == str(tmp_path / '10')
  assert local_model.newest_version(str(tmp_path / '9')) == str(tmp_path / '9')
  with pytest.raises(FileNotFoundError, match='numbered SavedModel versions'):
    local_model.newest_version(str(tmp_path / '11'))
