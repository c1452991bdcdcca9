"""The push gate: a deliberately worse model is not blessed and the serving dir is untouched.

Posters here are synthetic and learnable (colour tells genre), so the first model is
reliably good and the second, trained with a zero learning rate, reliably worse.
"""
import dataclasses
import os

import pytest
from tfx import v1 as tfx

from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from tests import synthetic

pytestmark = pytest.mark.e2e


def _snapshot(directory):
  return sorted((os.path.relpath(os.path.join(root, name), directory),
                 os.path.getmtime(os.path.join(root, name)))
                for root, _, files in os.walk(directory) for name in files)


def _blessing(runs):
  blessing_uri = runs['Evaluator'].output_uris['blessing'][0]
  return sorted(os.listdir(blessing_uri))


def test_worse_model_is_not_blessed_and_serving_dir_is_unchanged(tmp_path):
  data_root = synthetic.learnable_dataset(str(tmp_path / 'data'), n_posters=240)
  config = configs.PipelineConfig(
      data_root=data_root, pipeline_name='poster-genres-gate',
      pipeline_root=str(tmp_path / 'root'), metadata_path=str(tmp_path / 'metadata.db'),
      serving_model_dir=str(tmp_path / 'serving'), min_genre_count=5,
      image_height=48, image_width=32, epochs=6, batch_size=16, learning_rate=3e-3,
      early_stopping_patience=6, min_macro_pr_auc=0.0)
  connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      config.metadata_path)

  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  first = {run.node_id: run for run in run_summary.latest_run(connection)}
  assert _blessing(first) == ['BLESSED']
  pushed = os.listdir(config.serving_model_dir)
  assert len(pushed) == 1
  before = _snapshot(config.serving_model_dir)

  worse = dataclasses.replace(config, learning_rate=0.0)
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(worse))
  second = {run.node_id: run for run in run_summary.latest_run(connection)}
  assert second['Trainer'].state == 'COMPLETE'  # really retrained, not cached
  assert _blessing(second) == ['NOT_BLESSED']
  assert _snapshot(config.serving_model_dir) == before
