"""The committed data contract stops a bad drop before Transform and the Trainer.

A drop of grayscale-only posters (every shared poster is RGB; the schema allows at most
10 % of other colour modes) stops `python local_runner.py` at the DataGate, with the anomaly
named and no traceback; a drop of banner-shaped images (aspect ratio out of the schema's
range) stops the pipeline the same way; with the explicit opt-out a bad drop goes on. The
shared e2e run (tests/test_pipeline_e2e.py) is the normal drop that passes.
"""
import dataclasses
import json
import os
import subprocess
import sys

import pytest
from tfx import v1 as tfx

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
  return configs.PipelineConfig(
      data_root=data_root, pipeline_name='poster-genres-contract',
      pipeline_root=str(tmp_path / 'root'), metadata_path=str(tmp_path / 'metadata.db'),
      serving_model_dir=str(tmp_path / 'serving'), min_genre_count=5,
      image_height=48, image_width=32, epochs=1)


def _cause(error):
  while error is not None and not isinstance(error, data_gate.DataContractViolation):
    error = error.__cause__ or error.__context__
  return error


def test_local_runner_stops_a_grayscale_drop_and_names_the_anomaly(tmp_path):
  data_root = _drop(str(tmp_path / 'data'), GRAYSCALE)
  output = tmp_path / 'output'
  finished = subprocess.run(
      [sys.executable, os.path.join(REPO_ROOT, 'local_runner.py'), '--data-root', data_root,
       '--pipeline-root', str(output / 'root'), '--metadata-path', str(output / 'md.db'),
       '--serving-model-dir', str(output / 'serving'), '--min-genre-count', '5'],
      cwd=str(tmp_path), capture_output=True, text=True, timeout=900, check=False)
  assert finished.returncode != 0
  assert 'Traceback' not in finished.stderr.split('Data gate:')[-1]
  message = finished.stderr[finished.stderr.rindex('Data gate:'):]
  assert 'stops before Transform' in message and '--allow-anomalies' in message
  assert 'train/colour_mode: ENUM_TYPE_UNEXPECTED_STRING_VALUES' in message
  states = {run.node_id: run.state for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(str(output / 'md.db')))}
  assert states['DataGate'] == 'FAILED'
  for expensive in ('Transform', 'RareGenreOversampler', 'Trainer', 'Evaluator', 'Pusher'):
    assert expensive not in states
  assert not (output / 'serving').exists()


def test_banners_stop_the_pipeline_before_transform(tmp_path):
  config = _config(tmp_path, _drop(str(tmp_path / 'data'), BANNERS))
  with pytest.raises(Exception) as raised:
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  violation = _cause(raised.value)
  assert violation is not None, raised.value
  assert 'aspect_ratio: FLOAT_TYPE_BIG_FLOAT' in str(violation)
  states = {run.node_id: run.state for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))}
  assert states['DataGate'] == 'FAILED' and 'Transform' not in states


def test_the_opt_out_records_the_anomaly_and_goes_on(tmp_path):
  config = dataclasses.replace(
      _config(tmp_path, _drop(str(tmp_path / 'data'), GRAYSCALE)), allow_anomalies=True)
  # Run only up to the gate: what follows it is the ordinary pipeline.
  full = pipeline.create_pipeline(config)
  upto_gate = [c for c in full.components
               if c.id in ('PosterExampleGen', 'StatisticsGen', 'SchemaGen', 'ExampleValidator',
                           'accepted_statistics_resolver', pipeline.DATA_GATE_ID)]
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
      components=upto_gate, metadata_connection_config=full.metadata_connection_config,
      beam_pipeline_args=config.beam_pipeline_args))
  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))}
  assert runs[pipeline.DATA_GATE_ID].state == 'COMPLETE'
  with open(os.path.join(runs[pipeline.DATA_GATE_ID].output_uris['drift'][0],
                         data_gate.VERDICT_FILE)) as f:
    verdict = json.load(f)
  assert verdict['allowed_by_opt_out'] and verdict['passed']
  assert [(a['feature'], a['kind']) for a in verdict['anomalies']] == [
      ('colour_mode', 'ENUM_TYPE_UNEXPECTED_STRING_VALUES')] * 3  # one per split
