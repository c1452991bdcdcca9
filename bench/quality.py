"""Trains each model with the real pipeline and reports its quality on `test`.

    .venv/bin/python bench/quality.py [--models simple_cnn ...] [--data-root DIR]

For every model it runs `local_runner.py --no-cache --model-name <model>` in a fresh output
directory (so the wall time and peak memory are those of a whole, uncached run), then scores
the `test` split with the Trainer's exported model through `serving_default` (raw bytes in,
the eval-tuned decision rule applied inside the model), and sets the numbers beside the
trivial baselines. Results accumulate in <output-dir>/quality.json (one entry per model,
with the commit and date) and are rendered into BENCHMARKS.md between the markers below.
Nothing here is tuned on `test`: the models' thresholds and the baselines' come from `eval`.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from contract import nodes  # pylint: disable=g-import-not-at-top
from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()

from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from models import baselines  # pylint: disable=g-import-not-at-top
from models import batch_predict  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import run_summary  # pylint: disable=g-import-not-at-top

DEFAULTS = configs.PipelineConfig()

BEGIN_MARKER = '<!-- bench/quality.py: begin -->'
END_MARKER = '<!-- bench/quality.py: end -->'
MIN_SUPPORT = 5


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--models', nargs='+', default=[DEFAULTS.trainer.model_name])
  parser.add_argument('--data-root', default=DEFAULTS.data_root)
  parser.add_argument('--output-dir', default=os.path.join(REPO_ROOT, 'bench_output'))
  parser.add_argument('--benchmarks', default=os.path.join(REPO_ROOT, 'BENCHMARKS.md'),
                      help='Markdown file to render the results into ("" to skip).')
  parser.add_argument('--epochs', type=int)
  parser.add_argument('--render-only', action='store_true',
                      help='Re-render BENCHMARKS.md from <output-dir>/quality.json; run nothing.')
  return parser.parse_args()


def _run_pipeline(config: configs.PipelineConfig, data_root: str,
                  epochs: int = None) -> Dict[str, float]:
  """Runs local_runner.py in a child process; its wall time and peak resident memory."""
  command = [sys.executable, os.path.join(REPO_ROOT, 'local_runner.py'), '--no-cache',
             '--data-root', data_root, '--model-name', config.trainer.model_name,
             '--pipeline-root', config.pipeline_root, '--metadata-path', config.metadata_path,
             '--serving-model-dir', config.serving_model_dir]
  if epochs:
    command += ['--epochs', str(epochs)]
  print('$', ' '.join(command), flush=True)
  start = time.monotonic()
  process = subprocess.Popen(command, cwd=REPO_ROOT)
  _, status, usage = os.wait4(process.pid, 0)
  seconds = time.monotonic() - start
  if os.waitstatus_to_exitcode(status) != 0:
    raise RuntimeError(f'The pipeline for {config.trainer.model_name} failed '
                       f'(exit {os.waitstatus_to_exitcode(status)}).')
  return {'wall_seconds': seconds, 'peak_rss_gb': usage.ru_maxrss / 1024 ** 2}


def _quality_dict(quality: metrics.Quality) -> Dict[str, Any]:
  return {**quality.headline(), 'genres_averaged': quality.genres_averaged,
          'per_genre': {row.genre: {'support': row.support, 'precision': row.precision,
                                    'recall': row.recall, 'f1': row.f1,
                                    'ap': row.average_precision}
                        for row in quality.per_genre}}


def _bench_model(model_name: str, args: argparse.Namespace) -> Dict[str, Any]:
  output = os.path.join(args.output_dir, model_name)
  config = configs.PipelineConfig.of(
      model_name=model_name, pipeline_root=os.path.join(output, 'root'),
      metadata_path=os.path.join(output, 'metadata.db'),
      serving_model_dir=os.path.join(output, 'serving'))
  resources = _run_pipeline(config, args.data_root, args.epochs)
  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))}
  examples_uri = runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]
  model_dir = os.path.join(runs[nodes.TRAINER].output_uris[nodes.MODEL][0], 'Format-Serving')
  blessing_uri = runs[nodes.EVALUATOR].output_uris[nodes.BLESSING][0]

  test = batch_predict.read_split(examples_uri, 'test')
  scores, predicted, classes = batch_predict.score(model_dir, test.images)
  if classes != test.genres:
    raise ValueError(f'Model genres {classes} differ from the data vocabulary {test.genres}.')
  quality = metrics.evaluate(test.labels, scores, predicted, test.genres, MIN_SUPPORT)

  train = batch_predict.read_split(examples_uri, 'train', with_images=False)
  evaluation = batch_predict.read_split(examples_uri, 'eval', with_images=False)
  baseline_quality = {
      name: _quality_dict(metrics.evaluate(test.labels, b_scores, b_predicted, test.genres,
                                           MIN_SUPPORT))
      for name, (b_scores, b_predicted) in baselines.all_baselines(
          test.genres, train.labels, evaluation.labels, len(test.ids)).items()}
  return {
      'model': model_name,
      'date': datetime.date.today().isoformat(),
      'commit': subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip(),
      'machine': benchmarks_md.machine(),
      'data_root': args.data_root,
      'split_sizes': {'train': len(train.ids), 'eval': len(evaluation.ids),
                      'test': len(test.ids)},
      'threshold_policy': (f'{DEFAULTS.trainer.threshold_policy} thresholds tuned on eval, '
                           f'at least {DEFAULTS.trainer.min_genres} genre per poster'),
      'blessed': os.path.exists(os.path.join(blessing_uri, 'BLESSED')),
      'resources': resources,
      'component_seconds': {node: run.seconds for node, run in runs.items()},
      'test': _quality_dict(quality),
      'baselines': baseline_quality,
  }


def _headline_row(name: str, result: Dict[str, Any]) -> str:
  return (f"| {name} | {result['macro_f1']:.3f} | {result['micro_f1']:.3f} | "
          f"{result['samples_f1']:.3f} | {result['map']:.3f} |")


def render_markdown(results: Dict[str, Dict[str, Any]]) -> str:
  lines: List[str] = [BEGIN_MARKER, '', '## Model quality on `test` (bench/quality.py)', '',
                      'Generated by `.venv/bin/python bench/quality.py --models '
                      + ' '.join(results) + '`; do not edit by hand.', '']
  first = next(iter(results.values()))
  lines += [
      f"Data: `{first['data_root']}`, splits {first['split_sizes']} "
      '(ExampleGen hash split; the oversampler changes `train` only).',
      f'Macro-F1 and mAP average the genres with at least {MIN_SUPPORT} `test` positives '
      f"({first['test']['genres_averaged']} genres); micro-F1 pools every poster-genre "
      'decision; samples-F1 averages per poster. Decision rules (models and baselines) are '
      'tuned on `eval`, never on `test`. The baselines give every poster the same score per '
      'genre, so they rank nothing and their AP is each genre\'s prevalence.', '',
      '| predictions | macro-F1 | micro-F1 | samples-F1 | mAP |', '| --- | --- | --- | --- | --- |']
  for name, result in results.items():
    lines.append(_headline_row(f'**{name}** ({result["threshold_policy"]})', result['test']))
  for name, result in first['baselines'].items():
    lines.append(_headline_row(f'baseline: {name}', result))
  lines += ['', '### Whole uncached pipeline run per model', '',
            'Wall time and peak resident memory of `local_runner.py --no-cache` (one process: '
            'LocalDagRunner and the in-memory Beam DirectRunner); component times are ML '
            'Metadata execution times.', '',
            '| model | commit | date | machine | wall time | peak memory | blessed |',
            '| --- | --- | --- | --- | --- | --- | --- |']
  for name, result in results.items():
    lines.append(
        f"| {name} | {result['commit']} | {result['date']} | {result['machine']} | "
        f"{result['resources']['wall_seconds'] / 60:.1f} min | "
        f"{result['resources']['peak_rss_gb']:.2f} GB | {result['blessed']} |")
  components = list(first['component_seconds'])
  lines += ['', '| component | ' + ' | '.join(results) + ' |',
            '| --- ' * (len(results) + 1) + '|']
  for component in components:
    lines.append(f'| {component} | ' + ' | '.join(
        f"{result['component_seconds'].get(component, 0.0):.0f} s"
        for result in results.values()) + ' |')
  prior_name = next(name for name in first['baselines'] if name.startswith('genre prior'))
  lines += ['', '### Per-genre F1 / AP on `test`', '',
            '| genre | test positives | ' + ' | '.join(f'{name} F1 / AP' for name in results)
            + ' | genre prior F1 |', '| --- ' * (len(results) + 3) + '|']
  for genre, row in first['test']['per_genre'].items():
    cells = [f"{result['test']['per_genre'][genre]['f1']:.3f} / "
             f"{result['test']['per_genre'][genre]['ap']:.3f}" for result in results.values()]
    lines.append(f"| {genre} | {row['support']} | " + ' | '.join(cells)
                 + f" | {first['baselines'][prior_name]['per_genre'][genre]['f1']:.3f} |")
  lines += ['', END_MARKER]
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  os.makedirs(args.output_dir, exist_ok=True)
  results_path = os.path.join(args.output_dir, 'quality.json')
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  for model_name in [] if args.render_only else args.models:
    results[model_name] = _bench_model(model_name, args)
    with open(results_path, 'w') as f:
      json.dump(results, f, indent=2)
    print(json.dumps({k: v for k, v in results[model_name].items()
                      if k not in ('test', 'baselines')}, indent=2))
    print(_headline_row(model_name, results[model_name]['test']))
  if args.benchmarks:
    benchmarks_md.write_section(args.benchmarks, render_markdown(results), BEGIN_MARKER,
                                END_MARKER)
    print(f'Wrote {args.benchmarks}')


if __name__ == '__main__':
  main()
