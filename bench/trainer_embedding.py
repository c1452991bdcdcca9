"""The Trainer alone on a finished run's artifacts: how long each split's embedding takes.

    .venv/bin/python bench/trainer_embedding.py [--metadata-path METADATA_DB] [--runs 10]

Research for "Quality and speed": the Trainer's embedding is most of a run's time, and its
duration swung between runs of the same code on the same data. Each run is a fresh process
(as in a pipeline run) that calls the Trainer's `run_fn` with the inputs of the newest run
in the metadata store (its oversampled train split, its eval split, its Transform graph; the
model goes to a temporary directory) and the default settings, with the Trainer's
`models.transfer.embed` timed per split: wall seconds and the process's CPU seconds. Equal
CPU seconds with more wall seconds is time in which the process did nothing, a stall, not a
slower backbone. Writes a markdown table to stdout and the results as JSON (--output);
BENCHMARKS.md is left alone.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()
if __name__ == '__main__':
  runtime_env.quiet_known_noise()

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

RESULT_PREFIX = 'TRAINER_EMBEDDING_RESULT '


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--metadata-path', default=configs.PipelineConfig().metadata_path,
                      help='ML Metadata SQLite store of the finished run to read (default: '
                           "the local runner's).")
  parser.add_argument('--runs', type=int, default=10, help='Fresh processes, one after another.')
  parser.add_argument('--output', default='/tmp/trainer_embedding_results.json')
  parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
  return parser.parse_args()


def _cpu_seconds() -> float:
  times = os.times()
  return times.user + times.system


def child(metadata_path: str) -> None:
  """One run: the Trainer on the newest run's inputs; prints its timings as one JSON line."""
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from tfx.components.trainer.fn_args_utils import FnArgs  # pylint: disable=g-import-not-at-top

  from contract import nodes  # pylint: disable=g-import-not-at-top
  from models import config as settings  # pylint: disable=g-import-not-at-top
  from models import trainer  # pylint: disable=g-import-not-at-top
  from models import transfer  # pylint: disable=g-import-not-at-top
  from pipeline import run_summary  # pylint: disable=g-import-not-at-top

  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path))}
  oversampled = runs[nodes.OVERSAMPLER].output_uris[nodes.OVERSAMPLED_EXAMPLES][0]
  examples = runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]
  splits: List[Dict] = []
  embed = transfer.embed

  def timed_embed(*args, **kwargs):
    wall, cpu = time.monotonic(), _cpu_seconds()
    result = embed(*args, **kwargs)
    splits.append({'what': kwargs.get('description', ''),
                   'wall_s': time.monotonic() - wall, 'cpu_s': _cpu_seconds() - cpu})
    return result

  transfer.embed = timed_embed
  out = tempfile.mkdtemp()
  started = time.monotonic()
  trainer.run_fn(FnArgs(
      train_files=[os.path.join(oversampled, 'Split-train', '*')],
      eval_files=[os.path.join(examples, 'Split-eval', '*')],
      transform_graph_path=runs[nodes.TRANSFORM].output_uris['transform_graph'][0],
      serving_model_dir=os.path.join(out, 'serving'), model_run_dir=os.path.join(out, 'run'),
      custom_config=settings.as_custom_config(settings.TrainerConfig())))
  print(RESULT_PREFIX + json.dumps({'splits': splits,
                                    'run_fn_s': time.monotonic() - started}), flush=True)


def render_markdown(results: Dict) -> str:
  lines = [f"The Trainer alone, {len(results['runs'])} fresh processes one after another "
           f"(`{results['command']}`, {results['machine']}).", '',
           '| run | ' + ' | '.join(f'{s} wall / CPU' for s in results['split_names'])
           + ' | run_fn |', '| --- ' * (len(results['split_names']) + 2) + '|']
  for i, run in enumerate(results['runs'], 1):
    cells = [f"{s['wall_s']:.1f} s / {s['cpu_s']:.1f} s" for s in run['splits']]
    lines.append(f"| {i} | {' | '.join(cells)} | {run['run_fn_s']:.1f} s |")
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  if args.child:
    child(args.metadata_path)
    return
  runs = []
  for i in range(args.runs):
    finished = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--child',
         '--metadata-path', args.metadata_path], capture_output=True, text=True, check=False)
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if finished.returncode or not lines:
      sys.exit(f'Run {i + 1} failed (exit {finished.returncode}):\n{finished.stderr[-3000:]}')
    runs.append(json.loads(lines[-1][len(RESULT_PREFIX):]))
    print(json.dumps(runs[-1]), flush=True)
  results = {'command': benchmarks_md.command(), 'machine': benchmarks_md.machine(),
             'metadata_path': args.metadata_path,
             'split_names': [s['what'] for s in runs[0]['splits']], 'runs': runs}
  benchmarks_md.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
