"""The committed data contract stops a bad drop before Transform and the Trainer.

A drop of grayscale-only posters (every shared poster is RGB; the schema allows at most
10 % of other colour modes) stops `python local_runner.py` at the DataGate, with the anomaly
named and no traceback; a drop of banner-shaped images (aspect ratio out of the schema's
range) stops the pipeline the same way; with the explicit opt-out a bad drop goes on. The
shared e2e run (tests/test_pipeline_e2e.py) is the normal drop that passes.
"""
import os
import subprocess
import sys

import pytest
from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from components import errors
from components.data_gate import executor as data_gate
from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from tests import synthetic

pytestmark = pytest.mark.e2e

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAYSCALE = dict(mode='L')
BANNERS = dict(width=600, height=100)


def _drop(root, posters):
  genres = [['Drama'], ['Comedy'], ['Drama', 'Comedy']]
  rows = [synthetic.csv_row(f'tt{i:07d}', genres[i % 3]) for i in range(60)]
  images = {row[0]: synthetic.poster_bytes(seed=i, **posters) for i, row in enumerate(rows)}
  return synthetic.write_dataset(root, rows, images)


def _config(tmp_path, data_root):
  return configs.PipelineConfig.of(
      data_root=data_root, pipeline_name='poster-genres-contract',
      pipeline_root=str(tmp_path / 'root'), metadata_path=str(tmp_path / 'metadata.db'),
      serving_model_dir=str(tmp_path / 'serving'), min_genre_count=5,
      image_height=48, image_width=32, epochs=1)


def test_local_runner_stops_a_grayscale_drop_and_names_the_anomaly(tmp_path):
  data_root = _drop(str(tmp_path / 'data'), GRAYSCALE)
  output = tmp_path / 'output'
  finished = subprocess.run(
      [sys.executable, os.path.join(REPO_ROOT, 'local_runner.py'), '--data-root', data_root,
       '--output-dir', str(output), '--min-genre-count', '5'],
      cwd=str(tmp_path), capture_output=True, text=True, timeout=900, check=False)
  assert finished.returncode != 0
  assert 'Traceback' not in finished.stderr.split('Data gate:')[-1]
  message = finished.stderr[finished.stderr.rindex('Data gate:'):]
  assert 'stops before Transform' in message and '--allow-anomalies' in message
  assert 'train/colour_mode: ENUM_TYPE_UNEXPECTED_STRING_VALUES' in message
  states = {run.node_id: run.state for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(
          str(output / 'metadata' / 'poster-genres' / 'metadata.db')))}
  assert states['DataGate'] == 'FAILED'
  for expensive in ('Transform', 'RareGenreOversampler', 'Trainer', 'Evaluator', 'Pusher'):
    assert expensive not in states
  assert not (output / 'serving_model').exists()
  # The terminal got a line per component and the failure; the full log is in the file.
  assert '✗ DataGate failed' in finished.stdout
  assert len(finished.stdout.splitlines()) < 20
  [log] = (output / 'logs').iterdir()
  assert 'ENUM_TYPE_UNEXPECTED_STRING_VALUES' in log.read_text()


def _artifact(kind, uri, splits=None):
  artifact = kind()
  artifact.uri = uri
  if splits:
    artifact.split_names = artifact_utils.encode_split_names(splits)
  return artifact


def test_banners_stop_the_pipeline_and_the_opt_out_lets_them_through(tmp_path):
  config = _config(tmp_path, _drop(str(tmp_path / 'data'), BANNERS))
  with pytest.raises(Exception) as raised:
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  violation = errors.cause(raised.value, (data_gate.DataContractViolation,))
  assert violation is not None, raised.value
  assert 'aspect_ratio: FLOAT_TYPE_BIG_FLOAT' in str(violation)
  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))}
  assert runs['DataGate'].state == 'FAILED' and 'Transform' not in runs

  # The same inputs with the explicit opt-out: the anomalies are recorded and the gate passes.
  splits = ['train', 'eval', 'test']
  output = tmp_path / 'opt-out'
  inputs = {
      'statistics': [_artifact(standard_artifacts.ExampleStatistics,
                               runs['StatisticsGen'].output_uris['statistics'][0], splits)],
      'schema': [_artifact(standard_artifacts.Schema,
                           runs['ImportSchemaGen'].output_uris['schema'][0])],
      'anomalies': [_artifact(standard_artifacts.ExampleAnomalies,
                              runs['ExampleValidator'].output_uris['anomalies'][0], splits)]}
  accepted_dir = str(output / 'accepted')

  def gate(name):
    drift = _artifact(standard_artifacts.ExampleAnomalies, str(output / name))
    data_gate.Executor().Do(inputs, {'drift': [drift]}, {
        'allow_anomalies': 1, 'accepted_statistics_dir': accepted_dir})
    return data_gate.read_verdict(drift.uri)

  verdict = gate('first')
  assert verdict['allowed_by_opt_out'] and verdict['passed']
  assert {(a['feature'], a['kind']) for a in verdict['anomalies']} == {
      ('aspect_ratio', 'FLOAT_TYPE_BIG_FLOAT')}
  assert verdict['drift_distances'] == {}  # Nothing accepted before: no baseline yet.
  # Accepted, so the same statistics are the next check's baseline: drift on every split,
  # and zero.
  verdict = gate('second')
  assert sorted(verdict['drift_distances']) == sorted(splits)
  assert {value for split in verdict['drift_distances'].values()
          for measures in split.values() for value in measures.values()} == {0.0}
