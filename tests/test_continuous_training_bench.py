"""bench/continuous_training.py lays its drops out from any spelling of the data root."""
import os
import subprocess
import sys

from bench import continuous_training
from tests import synthetic


def test_drops_from_a_relative_data_root_link_every_poster(tmp_path, monkeypatch):
  rows = [synthetic.csv_row(f'tt{i:07d}', ['Drama']) for i in range(40)]
  rows.append(rows[3])  # a repeated Id, as in the shared data
  images = {row[0]: synthetic.poster_bytes(seed=i) for i, row in enumerate(rows)}
  synthetic.write_dataset(str(tmp_path / 'shared' / 'data'), rows, images)
  work = tmp_path / 'repo'
  work.mkdir()
  monkeypatch.chdir(work)
  counts = continuous_training.split_drops(os.path.join('..', 'shared', 'data'),
                                           str(work / 'drops'), new_fraction=0.3)
  assert counts[0] + counts[1] == len(rows) and counts[1] > 0
  linked = []
  for span_dir in (work / 'drops' / 'span-0', work / 'drops' / 'pending' / 'span-1'):
    for name in os.listdir(span_dir / synthetic.IMAGES_DIR):
      path = span_dir / synthetic.IMAGES_DIR / name
      assert path.exists(), f'{path} dangles'
      linked.append(name)
  assert sorted(linked) == sorted(f'{poster_id}.jpg' for poster_id in images)


def test_a_data_root_without_the_labels_is_refused_with_the_path_it_tried(tmp_path):
  script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'bench',
                        'continuous_training.py')
  done = subprocess.run([sys.executable, script, '--data-root', 'no-such-data',
                         '--work-dir', str(tmp_path / 'work')],
                        cwd=tmp_path, capture_output=True, text=True, check=False)
  assert done.returncode == 2
  assert "'no-such-data' is not a local dataset" in done.stderr
  assert str(tmp_path / 'no-such-data') in done.stderr
  assert 'Traceback' not in done.stderr and not (tmp_path / 'work').exists()
