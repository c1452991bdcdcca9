"""Runs the poster-genre pipeline locally with LocalDagRunner and a SQLite ML Metadata store.

    python local_runner.py [--data-root DIR_OR_KAGGLE_HANDLE] [--no-cache] [--KNOB VALUE] ...

Every knob is declared once, in pipeline/configs.py (and the settings dataclasses it holds);
each is a flag here and a POSTER_* environment variable, validated before anything runs.
"""
import argparse
import dataclasses
import sys
from typing import List, Optional

# Settings import neither TensorFlow nor TFX: arguments are parsed and every knob validated
# before those slow imports.
from models import config as settings
from pipeline import configs


def _parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--no-cache', action='store_true',
                      help='Re-execute every component instead of reusing cached results.')
  settings.add_flags(parser, configs.PipelineConfig)
  return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> configs.PipelineConfig:
  overrides = settings.flag_overrides(args, configs.PipelineConfig)
  if args.no_cache:
    overrides['enable_cache'] = False
  return configs.PipelineConfig.from_env(**overrides)


def main() -> None:
  try:
    config = _config(_parse_args())
  except settings.SettingError as error:
    sys.exit(f'local_runner.py: {error}')

  # pylint: disable=g-import-not-at-top
  from pipeline import runtime_env
  runtime_env.require_legacy_keras()
  from absl import logging
  from tfx import v1 as tfx
  from components.data_gate import executor as data_gate
  from pipeline import data_source
  from pipeline import pipeline
  from pipeline import run_summary
  # pylint: enable=g-import-not-at-top

  logging.set_verbosity(logging.INFO)
  try:
    data_root = data_source.resolve_data_root(config.data_root, config.labels_file)
  except data_source.DataSourceError as error:
    sys.exit(f'local_runner.py: {error}')
  config = dataclasses.replace(config, data_root=data_root)
  try:
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  except Exception as error:  # pylint: disable=broad-except
    violation = data_gate.violation_in(error)
    if violation is None:
      raise
    sys.exit(f'\n{violation}')
  print('\n'.join(run_summary.summary_lines(config)))


if __name__ == '__main__':
  main()
