"""Runs the poster-genre pipeline locally with LocalDagRunner and a SQLite ML Metadata store.

    python local_runner.py [--data-root DIR_OR_KAGGLE_HANDLE] [--no-cache] ...

Every default lives in pipeline/configs.py; flags and POSTER_* environment variables override.
"""
import argparse
import dataclasses
import os
import sys

from absl import logging

from pipeline import runtime_env

runtime_env.require_legacy_keras()

import tensorflow as tf  # pylint: disable=g-import-not-at-top
from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from components.data_gate import executor as data_gate  # pylint: disable=g-import-not-at-top
from components.data_gate import findings as data_findings  # pylint: disable=g-import-not-at-top
from components.poster_example_gen import report as ingest_report  # pylint: disable=g-import-not-at-top
from components.poster_example_gen import vocabulary as genre_vocabulary  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import data_source  # pylint: disable=g-import-not-at-top
from pipeline import pipeline  # pylint: disable=g-import-not-at-top
from pipeline import run_summary  # pylint: disable=g-import-not-at-top
from reports import build as slice_report  # pylint: disable=g-import-not-at-top
from reports import evaluation  # pylint: disable=g-import-not-at-top


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--data-root',
                      help='Dataset in the Kaggle layout (directory or gs:// URI) or a '
                      f'kagglehub handle such as {data_source.KAGGLE_HANDLE}. '
                      f'Default: $POSTER_DATA_ROOT or {configs.DATA_ROOT}.')
  parser.add_argument('--pipeline-root', help='Where artifacts go.')
  parser.add_argument('--metadata-path', help='SQLite ML Metadata file.')
  parser.add_argument('--serving-model-dir', help='Where blessed models are pushed.')
  parser.add_argument('--model-name', help='Trainer model (see trainer_module.MODELS).')
  parser.add_argument('--epochs', type=int)
  parser.add_argument('--seed', type=int,
                      help='Seed of the Trainer (default: $POSTER_SEED or 0).')
  parser.add_argument('--allow-anomalies', action='store_true', default=None,
                      help='Go on when the data break the committed schema or drift beyond '
                      'its thresholds (the anomalies are still recorded). Default: stop.')
  parser.add_argument('--min-genre-count', type=int,
                      help='Genres with fewer posters are left out of the vocabulary.')
  parser.add_argument('--beam-direct-running-mode',
                      choices=['in_memory', 'multi_threading', 'multi_processing'])
  parser.add_argument('--beam-direct-num-workers', type=int)
  parser.add_argument('--no-cache', action='store_true',
                      help='Re-execute every component instead of reusing cached results.')
  return parser.parse_args()


def _print_summary(config: configs.PipelineConfig) -> None:
  runs = run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))
  print('\nComponents of this run:')
  for run in runs:
    note = ('  (no accepted statistics yet: drift not measured)'
            if run.node_id == pipeline.ACCEPTED_STATISTICS_RESOLVER_ID and run.state == 'FAILED'
            else '')
    print(f'  {run.node_id:<28} {run.state:<9} {run.seconds:8.1f} s{note}')
  for run in runs:
    for uri in run.output_uris.get('ingest_report', []):
      print()
      for line in ingest_report.summary_lines(ingest_report.read_report(uri)):
        print(line)
      print(f'Full report: {os.path.join(uri, ingest_report.REPORT_FILE)}')
  for run in runs:
    for uri in run.output_uris.get('drift', []):
      print()
      for line in data_findings.summary_lines(data_gate.read_verdict(uri)):
        print(line)
  examples_uri = next(uri for run in runs for uri in run.output_uris.get('examples', []))
  for run in runs:
    if run.node_id == pipeline.TEST_EVALUATOR_ID:
      continue  # reports on `test`; its blessing gates nothing
    for uri in run.output_uris.get('evaluation', []):
      print()
      gate = evaluation.load_gate(uri, genre_vocabulary.read_vocabulary(examples_uri))
      for line in evaluation.gate_lines(gate):
        print(line)
  versions = (sorted(tf.io.gfile.listdir(config.serving_model_dir))
              if tf.io.gfile.isdir(config.serving_model_dir) else [])
  print(f"Serving directory: {config.serving_model_dir} "
        f"(versions: {', '.join(v.rstrip('/') for v in versions) or 'none yet'})")
  for run in runs:
    for uri in run.output_uris.get('report', []):
      print(f'\nSlice report ({run.node_id}): {os.path.join(uri, slice_report.REPORT_FILE)}')


def main() -> None:
  args = _parse_args()
  logging.set_verbosity(logging.INFO)
  config = configs.PipelineConfig.from_env(
      data_root=args.data_root,
      pipeline_root=args.pipeline_root,
      metadata_path=args.metadata_path,
      serving_model_dir=args.serving_model_dir,
      model_name=args.model_name,
      epochs=args.epochs,
      seed=args.seed,
      allow_anomalies=args.allow_anomalies,
      min_genre_count=args.min_genre_count,
      beam_direct_running_mode=args.beam_direct_running_mode,
      beam_direct_num_workers=args.beam_direct_num_workers,
      enable_cache=False if args.no_cache else None)
  config = dataclasses.replace(
      config, data_root=data_source.resolve_data_root(config.data_root, config.labels_file))
  try:
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  except Exception as error:  # pylint: disable=broad-except
    violation = data_gate.violation_in(error)
    if violation is None:
      raise
    sys.exit(f'\n{violation}')
  _print_summary(config)


if __name__ == '__main__':
  main()
