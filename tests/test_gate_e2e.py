"""The per-genre push gate on real pipeline runs: a retrain with another seed is blessed and
pushed; a candidate that lost one genre is refused, the refusal names that genre, and the
serving directory keeps the earlier versions untouched.

Posters here are synthetic and learnable (colour tells genre), so every genre is learned
well and a retrain is as good as the first model; the sabotaged candidate
(tests/sabotaged_trainer.py) scores one genre with noise.
"""
import os

import pytest
from tfx import v1 as tfx

from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from components.slice_report import evaluation
from tests import sabotaged_trainer
from tests import synthetic

pytestmark = pytest.mark.e2e

GENRES = list(synthetic.LEARNABLE_GENRE_COLOURS)


def _snapshot(directory):
  return sorted((os.path.relpath(os.path.join(root, name), directory),
                 os.path.getmtime(os.path.join(root, name)))
                for root, _, files in os.walk(directory) for name in files)


def _run(config, connection):
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  runs = {run.node_id: run for run in run_summary.latest_run(connection)}
  assert runs['Trainer'].state == 'COMPLETE'  # really trained, not cached
  return evaluation.load_gate(runs['Evaluator'].output_uris['evaluation'][0], GENRES)


def test_retrain_is_blessed_and_a_lost_genre_is_refused_by_name(tmp_path):
  data_root = synthetic.learnable_dataset(str(tmp_path / 'data'), n_posters=240)
  values = dict(
      data_root=data_root, pipeline_name='poster-genres-gate',
      pipeline_root=str(tmp_path / 'root'), metadata_path=str(tmp_path / 'metadata.db'),
      serving_model_dir=str(tmp_path / 'serving'), min_genre_count=5,
      image_height=48, image_width=32, epochs=6, batch_size=16, learning_rate=3e-3,
      early_stopping_patience=6,
      # Each learnable genre is on about half of the 240 posters.
      min_eval_positives=5)
  config = configs.PipelineConfig.of(**values)
  connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      config.metadata_path)

  first = _run(config, connection)
  assert first.blessed and first.first_model
  assert sorted(c.subject for c in first.checks) == sorted(GENRES + [evaluation.MACRO_SUBJECT])
  # Without a baseline only the floors apply: every genre beat its chance level.
  assert all(c.floor is not None and c.candidate > c.floor for c in first.checks)
  assert all(c.baseline is None and c.allowed_drop is None for c in first.checks)
  assert len(os.listdir(config.serving_model_dir)) == 1

  retrain = _run(configs.PipelineConfig.of(**values, seed=1), connection)
  print('\n'.join(evaluation.gate_lines(retrain)))
  assert retrain.blessed and not retrain.first_model
  assert all(c.baseline is not None and c.allowed_drop is not None for c in retrain.checks)
  assert len(os.listdir(config.serving_model_dir)) == 2
  before = _snapshot(config.serving_model_dir)

  lost_genre = _run(configs.PipelineConfig.of(
      **values, seed=1, run_fn=f'{sabotaged_trainer.__name__}.run_fn'), connection)
  print('\n'.join(evaluation.gate_lines(lost_genre)))
  assert not lost_genre.blessed
  refused = {c.subject: c for c in lost_genre.refusals}
  assert sabotaged_trainer.SABOTAGED_GENRE in refused
  assert evaluation.NO_DROP in refused[sabotaged_trainer.SABOTAGED_GENRE].refused_by
  # Every other genre is as good as before: only the lost one (and the macro average it
  # drags down) refused the model.
  assert set(refused) <= {sabotaged_trainer.SABOTAGED_GENRE, evaluation.MACRO_SUBJECT}
  assert _snapshot(config.serving_model_dir) == before
