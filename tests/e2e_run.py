"""The one small real pipeline run that every end-to-end test reads (see conftest.py).

A few hundred shared posters plus one row of every kind of bad input, run once per test
session through the whole DAG with LocalDagRunner: each area's e2e tests (ingest, Transform,
oversampler, Trainer export, Evaluators, Pusher, serving, reports) inspect the same run
rather than paying for their own.

Its Beam work runs as on Dataflow, in worker processes of their own (the DirectRunner's
`multi_processing` mode, 2 workers): a DoFn that depends on the launching process's state, an
unpicklable closure or an import that fails in a fresh worker fails here, not in a Dataflow
job. Workers import the installed package (scripts/setup_env.sh installs the checkout).
"""
import glob
import os
from typing import Dict, Tuple

from tfx import v1 as tfx

from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from tests import synthetic

SHARED_POSTERS = 240
BEAM_MODE = 'multi_processing'
BEAM_WORKERS = 2
# (Id, genres) rows appended to the CSV, each with the poster bytes written in `build_dataset`.
BAD_ROWS = (
    ('ttmissing', ['Drama']),
    ('ttempty', ['Drama']),
    ('tttruncated', ['Comedy']),
    ('ttnotimage', ['Action']),
    ('ttnagenre', ['N/A']),
    ('ttconflict', ['Drama']),
    ('ttconflict', ['Horror']),
    ('ttdupa', ['Drama', 'Comedy']),
    ('ttdupb', ['Drama', 'Comedy']),
    ('ttdupb', ['Drama', 'Comedy']),
    ('tttiny', ['Drama']),
)
# An image file that no CSV row names.
UNLABELLED_IMAGE = 'ttnorow'

Run = Tuple[configs.PipelineConfig, object, Dict[str, run_summary.ComponentRun]]


def build_dataset(root: str) -> str:
  """SHARED_POSTERS shared posters plus BAD_ROWS, in the Kaggle layout under `root`."""
  columns = synthetic.shared_genre_columns()
  root = synthetic.copy_shared_subset(
      root, SHARED_POSTERS,
      extra_rows=[synthetic.csv_row(poster_id, genres, columns) for poster_id, genres in BAD_ROWS])
  images_dir = os.path.join(root, synthetic.IMAGES_DIR)
  some_poster = sorted(glob.glob(os.path.join(images_dir, '*.jpg')))[0]
  with open(some_poster, 'rb') as f:
    real_bytes = f.read()
  twin = synthetic.poster_bytes(seed=7)
  for name, data in [('ttempty', b''), ('tttruncated', real_bytes[:len(real_bytes) // 3]),
                     ('ttnotimage', b'<html>not a poster</html>'), ('ttconflict', twin[:-1]),
                     ('ttdupa', twin), ('ttdupb', twin),
                     ('tttiny', synthetic.poster_bytes(width=1, height=1)),
                     (UNLABELLED_IMAGE, synthetic.poster_bytes(seed=8))]:
    with open(os.path.join(images_dir, name + '.jpg'), 'wb') as f:
      f.write(data)
  return root


def run_pipeline(data_root: str, output_dir: str) -> Run:
  """Runs the default pipeline, made small (tiny images, one epoch), and reads it back."""
  config = configs.PipelineConfig.of(
      data_root=data_root, pipeline_name='poster-genres-e2e',
      pipeline_root=os.path.join(output_dir, 'root'),
      metadata_path=os.path.join(output_dir, 'metadata.db'),
      serving_model_dir=os.path.join(output_dir, 'serving'), min_genre_count=5,
      image_height=96, image_width=64, epochs=1, min_macro_pr_auc=0.0,
      beam_direct_running_mode=BEAM_MODE, beam_direct_num_workers=BEAM_WORKERS)
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      config.metadata_path)
  return config, connection, {run.node_id: run for run in run_summary.latest_run(connection)}
