"""Data location resolution: directories, remote URIs and kagglehub handles."""
import kagglehub
import pytest

from pipeline import data_source
from tests.synthetic import LABELS_FILE, csv_row, write_dataset


@pytest.fixture
def dataset(tmp_path):
  return write_dataset(str(tmp_path / 'movie-classifier'), [csv_row('tt1', ['Drama'])], {})


def test_local_directory_resolves_to_itself(dataset):
  assert data_source.resolve_data_root(dataset, LABELS_FILE) == dataset


def test_directory_without_the_labels_file_is_rejected(tmp_path):
  with pytest.raises(data_source.DataSourceError, match='not a dataset in the Kaggle layout'):
    data_source.resolve_data_root(str(tmp_path), LABELS_FILE)


@pytest.mark.parametrize('location,handle', [
    ('raman77768/movie-classifier', 'raman77768/movie-classifier'),
    ('kaggle:raman77768/movie-classifier', 'raman77768/movie-classifier'),
    ('raman77768/movie-classifier/versions/2', 'raman77768/movie-classifier/versions/2'),
    ('gs://bucket/movie-classifier', None),
    ('/data/movie-classifier', None),
    ('a/b/c', None),
])
def test_kaggle_handles_are_told_apart_from_paths(location, handle):
  assert data_source.kaggle_handle(location) == handle


def test_existing_local_path_wins_over_a_handle_of_the_same_spelling(tmp_path, monkeypatch):
  (tmp_path / 'owner' / 'dataset').mkdir(parents=True)
  monkeypatch.chdir(tmp_path)
  assert data_source.kaggle_handle('owner/dataset') is None


def test_handle_is_downloaded_with_kagglehub(dataset, monkeypatch):
  calls = []
  monkeypatch.setattr(kagglehub, 'dataset_download',
                      lambda handle: calls.append(handle) or dataset)
  assert data_source.resolve_data_root(data_source.KAGGLE_HANDLE, LABELS_FILE) == dataset
  assert calls == [data_source.KAGGLE_HANDLE]


def test_offline_download_failure_is_a_clear_error(monkeypatch):
  def offline(handle):
    raise ConnectionError('Name or service not known')
  monkeypatch.setattr(kagglehub, 'dataset_download', offline)
  with pytest.raises(data_source.DataSourceError, match='needs the network'):
    data_source.resolve_data_root(data_source.KAGGLE_HANDLE, LABELS_FILE)


def test_a_data_root_of_spans_resolves_when_any_span_is_there(tmp_path):
  root = tmp_path / 'drops'
  pattern = 'span-{SPAN}/' + LABELS_FILE
  with pytest.raises(data_source.DataSourceError, match='span-{SPAN}'):
    data_source.resolve_data_root(str(root), pattern)
  write_dataset(str(root / 'span-0'), [csv_row('tt1', ['Drama'])], {})
  assert data_source.resolve_data_root(str(root), pattern) == str(root)


@pytest.fixture
def no_gcloud_configuration(tmp_path, monkeypatch):
  """No Application Default Credentials: no variable, and a HOME without gcloud's files."""
  for name in ('GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CONFIG'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('HOME', str(tmp_path))
  return tmp_path


def test_a_gs_data_root_without_credentials_is_a_clear_error(no_gcloud_configuration):
  with pytest.raises(data_source.DataSourceError,
                     match='needs Google Cloud credentials, and none were found'):
    data_source.resolve_data_root('gs://poster-bucket/movie-classifier', LABELS_FILE)


def test_a_gs_data_root_out_of_reach_is_a_clear_error(no_gcloud_configuration, monkeypatch):
  """Credentials that cannot be exchanged for a token (no network here, and a made-up
  refresh token): TensorFlow's GCS error becomes one line naming the pattern."""
  credentials = no_gcloud_configuration / 'credentials.json'
  credentials.write_text('{"type": "authorized_user", "client_id": "poster", '
                         '"client_secret": "poster", "refresh_token": "poster"}')
  monkeypatch.setenv('GOOGLE_APPLICATION_CREDENTIALS', str(credentials))
  with pytest.raises(data_source.DataSourceError) as error:
    data_source.resolve_data_root('gs://poster-bucket/movie-classifier', LABELS_FILE)
  message = str(error.value)
  assert message.startswith('Cannot read gs://poster-bucket/movie-classifier/'
                            'Multi_Label_dataset/train.csv (')
  assert '\n' not in message
