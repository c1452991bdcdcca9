"""Staging a local dataset for cloud runs: complete, and cheap to repeat."""
import os
import types

import pytest

from pipeline import data_staging
from tests import synthetic


@pytest.fixture
def dataset(tmp_path):
  rows = [synthetic.csv_row(f'tt{i}', ['Drama']) for i in range(3)]
  images = {f'tt{i}': synthetic.poster_bytes(seed=i) for i in range(3)}
  return synthetic.write_dataset(str(tmp_path / 'source'), rows, images)


def _staged_files(root):
  return sorted(os.path.relpath(os.path.join(directory, name), root)
                for directory, _, names in os.walk(root) for name in names)


def test_labels_and_posters_are_copied(dataset, tmp_path):
  target = str(tmp_path / 'target')
  assert data_staging.stage_dataset(dataset, target, synthetic.LABELS_FILE,
                                    synthetic.IMAGES_DIR) == target
  assert _staged_files(target) == _staged_files(dataset)
  for name in _staged_files(dataset):
    with open(os.path.join(dataset, name), 'rb') as source, \
        open(os.path.join(target, name), 'rb') as copy:
      assert source.read() == copy.read()


def test_restaging_copies_only_what_changed(dataset, tmp_path):
  target = str(tmp_path / 'target')
  data_staging.stage_dataset(dataset, target, synthetic.LABELS_FILE, synthetic.IMAGES_DIR)
  unchanged = os.path.join(target, synthetic.IMAGES_DIR, 'tt0.jpg')
  changed = os.path.join(target, synthetic.IMAGES_DIR, 'tt1.jpg')
  os.utime(unchanged, (0, 0))
  os.utime(changed, (0, 0))
  with open(os.path.join(dataset, synthetic.IMAGES_DIR, 'tt1.jpg'), 'wb') as f:
    f.write(synthetic.poster_bytes(width=80, seed=9))

  data_staging.stage_dataset(dataset, target, synthetic.LABELS_FILE, synthetic.IMAGES_DIR)
  assert os.stat(unchanged).st_mtime == 0
  with open(changed, 'rb') as f:
    assert f.read() == synthetic.poster_bytes(width=80, seed=9)


def test_restaging_copies_a_changed_file_of_the_same_size(dataset, tmp_path):
  target = str(tmp_path / 'target')
  data_staging.stage_dataset(dataset, target, synthetic.LABELS_FILE, synthetic.IMAGES_DIR)
  unchanged = os.path.join(target, synthetic.IMAGES_DIR, 'tt0.jpg')
  os.utime(unchanged, (0, 0))
  labels = os.path.join(dataset, synthetic.LABELS_FILE)
  with open(labels, encoding='utf-8') as f:
    text = f.read()
  assert text.endswith('0\n')
  relabelled = text[:-2] + '1\n'  # The last poster gains a genre; the file keeps its size.
  with open(labels, 'w', encoding='utf-8', newline='') as f:
    f.write(relabelled)

  data_staging.stage_dataset(dataset, target, synthetic.LABELS_FILE, synthetic.IMAGES_DIR)
  assert os.stat(unchanged).st_mtime == 0
  with open(os.path.join(target, synthetic.LABELS_FILE), encoding='utf-8') as f:
    assert f.read() == relabelled


def test_checksums_take_the_form_cloud_storage_stores(tmp_path):
  path = tmp_path / 'digits'
  path.write_bytes(b'123456789')
  # The CRC-32C check value 0xE3069283, big-endian and base64-encoded as in object metadata.
  assert data_staging._crc32c(str(path)) == '4waSgw=='


def test_cloud_targets_are_compared_with_listed_object_metadata(monkeypatch):
  objects = {'root/': [types.SimpleNamespace(name='root/train.csv', size=5, crc32c='AAAAAA==')],
             'root/Images/': [types.SimpleNamespace(name='root/Images/a.jpg', size=3,
                                                    crc32c='4waSgw==')]}
  listed = []

  class FakeClient:

    def list_blobs(self, bucket, prefix, delimiter):
      listed.append((bucket, prefix, delimiter))
      return objects[prefix]

  monkeypatch.setattr(data_staging.storage, 'Client', FakeClient)
  fingerprints = data_staging._cloud_fingerprints(
      ['gs://bucket/root/train.csv', 'gs://bucket/root/Images/a.jpg',
       'gs://bucket/root/Images/b.jpg'])
  assert listed == [('bucket', 'root/', '/'), ('bucket', 'root/Images/', '/')]
  assert fingerprints == {'gs://bucket/root/train.csv': (5, 'AAAAAA=='),
                          'gs://bucket/root/Images/a.jpg': (3, '4waSgw==')}


def test_a_dataset_without_posters_is_refused(tmp_path):
  root = synthetic.write_dataset(str(tmp_path / 'source'), [], {})
  os.rmdir(os.path.join(root, synthetic.IMAGES_DIR))
  with pytest.raises(FileNotFoundError, match='not a directory of posters'):
    data_staging.stage_dataset(root, str(tmp_path / 'target'), synthetic.LABELS_FILE,
                               synthetic.IMAGES_DIR)
