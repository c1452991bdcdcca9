"""Runs the poster-genre pipeline locally with LocalDagRunner and a SQLite ML Metadata store.

    python local_runner.py [--data-root DIR_OR_KAGGLE_HANDLE] [--no-cache] [--KNOB VALUE] ...

Every knob is declared once, in pipeline/configs.py (and the settings dataclasses it holds);
each is a flag here and a POSTER_* environment variable, validated before anything runs.
"""
import argparse
import dataclasses
import os
import sys
import time
from typing import List, Optional

# Settings import neither TensorFlow nor TFX: arguments are parsed and every knob validated
# before those slow imports.
import knobs
from pipeline import configs
from pipeline import data_source


def _parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
  parser = knobs.FlagParser(description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--no-cache', action='store_true',
                      help='Re-execute every component instead of reusing cached results.')
  parser.add_argument('--verbose', action='store_true',
                      help='Show the full TFX, TensorFlow and Beam log here as it is written. '
                      'Default: one line per component and progress on the long steps; the '
                      'full log goes to <output dir>/logs/.')
  knobs.add_flags(parser, configs.PipelineConfig)
  return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> configs.PipelineConfig:
  overrides = knobs.flag_overrides(args, configs.PipelineConfig)
  if args.no_cache:
    overrides['enable_cache'] = False
  return configs.PipelineConfig.from_env(**overrides)


def main() -> None:
  started = time.monotonic()
  if sys.version_info[:2] != (3, 10):
    sys.exit(f'local_runner.py: TFX 1.16 runs on Python 3.10, not {sys.version.split()[0]}: '
             'run `bash scripts/setup_env.sh`, then `.venv/bin/python local_runner.py`.')
  args = _parse_args()
  try:
    config = _config(args)
    data_root = data_source.resolve_data_root(config.data_root, config.labels_pattern)
  except (knobs.SettingError, data_source.DataSourceError) as error:
    sys.exit(f'local_runner.py: {error}')
  config = dataclasses.replace(config, data_root=data_root)

  # pylint: disable=g-import-not-at-top
  from pipeline import runtime_env
  runtime_env.require_legacy_keras()
  runtime_env.quiet_known_noise()
  from pipeline import console
  log_path = os.path.join(config.output_dir, 'logs',
                          f'{config.pipeline_name}-{time.strftime("%Y%m%d-%H%M%S")}.log')
  violation = None
  with console.QuietConsole(log_path, verbose=args.verbose) as terminal:
    from absl import logging
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from components import errors
    from components.data_gate import executor as data_gate
    from components.poster_example_gen import labels
    from pipeline import pipeline
    from pipeline import run_summary
    # pylint: enable=g-import-not-at-top
    logging.set_verbosity(logging.INFO)
    try:
      LocalDagRunner().run(pipeline.create_pipeline(config))
    except Exception as error:  # pylint: disable=broad-except
      # The data's problems, said in their own words; anything else keeps its traceback.
      violation = errors.cause(error, (data_gate.DataContractViolation,
                                       labels.LabelFileError))
      if violation is None:
        raise
    if violation is None:
      for line in run_summary.summary_lines(config, components=args.verbose):
        terminal.print(line)
      terminal.print(f'\nWall time {console.duration(time.monotonic() - started)}.')
  if violation is not None:
    sys.exit(f'\nlocal_runner.py: {violation}')

if __name__ == '__main__':
  main()
