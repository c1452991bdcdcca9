"""Trains each model with the real pipeline and reports its quality on `test`.

    .venv/bin/python bench/quality.py [--models simple_cnn ...] [--data-root DIR]
        [--label NAME] [--reference NAME]

For every model it runs `local_runner.py --no-cache --model-name <model>` in a fresh output
directory (so the wall time and peak memory are those of a whole, uncached run), then scores
the `test` split with the Trainer's exported model through `serving_default` (raw bytes in,
the eval-tuned decision rule applied inside the model), and sets the numbers beside the
trivial baselines. Results accumulate in <output-dir>/quality.json (one entry per label,
the model's name unless --label names it, with the commit and date; the test predictions
beside it as <label>.npz) and are rendered into BENCHMARKS.md between the markers below.
Every test figure comes with a percentile bootstrap 95% interval over test posters, and with
--reference, every other entry with a paired interval of its gain over that entry (the same
resamples for both). `eval` figures stand beside them: choose on those, never on `test`.
Nothing here is tuned on `test`: the models' thresholds and the baselines' come from `eval`.
"""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from bench import stats  # pylint: disable=g-import-not-at-top
from contract import nodes  # pylint: disable=g-import-not-at-top
from models import baselines  # pylint: disable=g-import-not-at-top
from models import batch_predict  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

# What it measures is the pipeline as configured: a run with the live defaults (and the
# models named), whose settings each entry records.
DEFAULTS = configs.PipelineConfig()
REPO_ROOT = lib.REPO_ROOT
BEGIN_MARKER, END_MARKER = lib.markers('quality.py')
MIN_SUPPORT = stats.MIN_SUPPORT
# A genre with this many test positives must be predicted for some test poster (issue 26).
NAMED_SUPPORT = 10
SPLITS = ('eval', 'test')


def _parse_args() -> argparse.Namespace:
  parser = lib.parser(__doc__)
  parser.add_argument('--models', nargs='+', default=[DEFAULTS.trainer.model_name])
  parser.add_argument('--data-root', default=DEFAULTS.data_root)
  parser.add_argument('--output-dir', default=os.path.join(REPO_ROOT, 'bench_output'))
  lib.add_benchmarks(parser)
  parser.add_argument('--epochs', type=int)
  parser.add_argument('--label', help='Name of the entry (one model only); default: the model.')
  parser.add_argument('--reference',
                      help='Entry whose test predictions the others are compared with.')
  parser.add_argument('--bootstrap', type=int, default=1000, help='Resamples of test posters.')
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


def _quality_dict(quality: stats.Quality) -> Dict[str, Any]:
  return {**quality.headline(), 'genres_averaged': quality.genres_averaged,
          'per_genre': {row.genre: {'support': row.support, 'precision': row.precision,
                                    'recall': row.recall, 'f1': row.f1,
                                    'ap': row.average_precision}
                        for row in quality.per_genre}}


def _bench_model(model_name: str, label: str, args: argparse.Namespace) -> Dict[str, Any]:
  output = os.path.join(args.output_dir, model_name)
  predictions_path = os.path.join(args.output_dir, f'{label}.npz')
  config = configs.PipelineConfig.of(
      model_name=model_name, pipeline_root=os.path.join(output, 'root'),
      metadata_path=os.path.join(output, 'metadata.db'),
      serving_model_dir=os.path.join(output, 'serving'))
  resources = _run_pipeline(config, args.data_root, args.epochs)
  runs = lib.latest_runs(config.metadata_path)
  examples_uri = lib.examples_uri(runs)
  model_dir = os.path.join(runs[nodes.TRAINER].output_uris[nodes.MODEL][0], 'Format-Serving')
  blessing_uri = runs[nodes.EVALUATOR].output_uris[nodes.BLESSING][0]

  splits = {split: batch_predict.read_split(examples_uri, split) for split in SPLITS}
  quality, arrays = {}, {}
  for split, posters in splits.items():
    scores, predicted, classes = batch_predict.score(model_dir, posters.images)
    if classes != posters.genres:
      raise ValueError(f'Model genres {classes} differ from the data vocabulary '
                       f'{posters.genres}.')
    quality[split] = stats.evaluate(posters.labels, scores, predicted, posters.genres)
    arrays.update({f'{split}_labels': posters.labels, f'{split}_scores': scores,
                   f'{split}_predicted': predicted})
  test, evaluation = splits['test'], splits['eval']
  train = batch_predict.read_split(examples_uri, 'train', with_images=False)
  baseline_predictions = baselines.all_baselines(test.genres, train.labels, evaluation.labels,
                                                 len(test.ids))
  for i, (b_scores, b_predicted) in enumerate(baseline_predictions.values()):
    arrays.update({f'baseline{i}_scores': b_scores, f'baseline{i}_predicted': b_predicted})
  np.savez(predictions_path, **arrays)
  baseline_quality = {
      name: _quality_dict(stats.evaluate(test.labels, b_scores, b_predicted, test.genres))
      for name, (b_scores, b_predicted) in baseline_predictions.items()}
  return {
      'model': model_name,
      **lib.provenance(),
      'data_root': args.data_root,
      'split_sizes': {'train': len(train.ids), 'eval': len(evaluation.ids),
                      'test': len(test.ids)},
      'threshold_policy': (f"'{thresholds.MODEL_POLICY}' thresholds tuned on eval with "
                           "out-of-fold train scores (a fine-tuned model: "
                           f"'{thresholds.EVAL_ONLY_POLICY}' on eval), "
                           f'{DEFAULTS.trainer.min_genres} to {DEFAULTS.trainer.max_genres} '
                           'genres per poster'),
      'blessed': os.path.exists(os.path.join(blessing_uri, 'BLESSED')),
      'resources': resources,
      'component_seconds': {node: run.seconds for node, run in runs.items()},
      'eval': quality['eval'].headline(),
      'test': _quality_dict(quality['test']),
      'baselines': baseline_quality,
  }


def bootstrap_intervals(results: Dict[str, Dict[str, Any]], output_dir: str,
                   reference: Optional[str], resamples: int) -> Dict[str, Dict[str, Any]]:
  """Bootstrap intervals of every entry whose test predictions are on disk, and of the first
  such entry's trivial baselines (as 'baseline: <name>'), all on the same resamples."""
  runs, labels = {}, None
  for label in results:
    path = os.path.join(output_dir, f'{label}.npz')
    if not os.path.exists(path):
      continue
    arrays = np.load(path)
    if labels is None:
      labels = arrays['test_labels']
      for i, name in enumerate(results[label]['baselines']):
        runs[f'baseline: {name}'] = (arrays[f'baseline{i}_scores'],
                                     arrays[f'baseline{i}_predicted'])
    elif not np.array_equal(labels, arrays['test_labels']):
      raise ValueError(f'{label} was scored on other test posters than the first entry.')
    runs[label] = (arrays['test_scores'], arrays['test_predicted'])
  if not runs:
    return {}
  if reference is not None and reference not in runs:
    raise ValueError(f'No test predictions of the reference {reference!r} in {output_dir}.')
  intervals = stats.bootstrap(labels, runs, reference=reference, resamples=resamples)
  return {name: {metric: dataclasses.asdict(interval) for metric, interval in values.items()}
          for name, values in intervals.items()}


def genres_named(results: Dict[str, Dict[str, Any]], output_dir: str) -> Dict[str, str]:
  """Per entry with test predictions, 'named / genres': of the genres with at least
  NAMED_SUPPORT test positives, how many it predicts for at least one test poster."""
  named = {}
  for label in results:
    path = os.path.join(output_dir, f'{label}.npz')
    if os.path.exists(path):
      with np.load(path) as arrays:
        frequent = arrays['test_labels'].sum(axis=0) >= NAMED_SUPPORT
        count = int((arrays['test_predicted'][:, frequent].sum(axis=0) > 0).sum())
      named[label] = f'{count} / {int(frequent.sum())}'
  return named


def _cell(interval: Optional[Dict[str, float]], value: float, signed: bool = False) -> str:
  form = '{:+.3f}' if signed else '{:.3f}'
  if interval is None:
    return form.format(value)
  return (f"{form.format(interval['value'])} "
          f"[{form.format(interval['low'])}, {form.format(interval['high'])}]")


def _headline_row(name: str, test: Dict[str, Any], intervals: Dict[str, Any],
                  evaluation: Optional[Dict[str, float]] = None, named: str = '–') -> str:
  eval_cells = ([f"{evaluation['macro_f1']:.3f}", f"{evaluation['map']:.3f}"] if evaluation
                else ['–', '–'])
  gains = [_cell(intervals[f'{m}_gain'], intervals[f'{m}_gain']['value'], signed=True)
           if f'{m}_gain' in intervals else '–' for m in ('macro_f1', 'map')]
  return '| ' + ' | '.join([name, *eval_cells,
                            *(_cell(intervals.get(m), test[m]) for m in ('macro_f1', 'micro_f1')),
                            f"{test['samples_f1']:.3f}", _cell(intervals.get('map'), test['map']),
                            named, *gains]) + ' |'


def render_markdown(results: Dict[str, Dict[str, Any]], intervals: Dict[str, Dict[str, Any]],
                    reference: Optional[str], resamples: int, named: Dict[str, str]) -> str:
  lines: List[str] = [BEGIN_MARKER, '', '## Model quality on `test` (bench/quality.py)', '',
                      'Generated by bench/quality.py; do not edit by hand. Entries: '
                      + '; '.join(f"`{label}` by `{result.get('command', '?')}`"
                                  for label, result in results.items())
                      + (f'; reference `{reference}`' if reference else '') + '.', '']
  first = next(iter(results.values()))
  lines += [
      f"Data: `{first['data_root']}`, splits {first['split_sizes']} "
      '(ExampleGen hash split; the oversampler changes `train` only).',
      f'Macro-F1 and mAP average the genres with at least {MIN_SUPPORT} `test` positives '
      f"({first['test']['genres_averaged']} genres); micro-F1 pools every poster-genre "
      'decision; samples-F1 averages per poster. Decision rules (models and baselines) are '
      'tuned on `eval`, never on `test`; choose models on the `eval` columns. The eval F1s '
      'are scored on the posters their rule was tuned on, so they favour rules with more '
      'thresholds: bench/decision_rules.py compares rules on a cross-fitted `eval`. The '
      'baselines give '
      'every poster the same score per genre, so they rank nothing and their AP is each '
      f"genre's prevalence. Brackets: percentile bootstrap 95% intervals over {resamples} "
      'resamples of the test posters; a gain is paired (the same resamples for both '
      'entries).', '',
      f'Genres named: of the genres with at least {NAMED_SUPPORT} `test` positives, how '
      'many the entry predicts for at least one test poster.', '',
      '| predictions | eval macro-F1 | eval mAP | test macro-F1 | test micro-F1 | '
      'test samples-F1 | test mAP | test genres named | test gain macro-F1 | test gain mAP |',
      '| --- ' * 10 + '|']
  for label, result in results.items():
    lines.append(_headline_row(
        f"**{label}** ({result['model']} at {result['commit']}, {result['threshold_policy']})",
        result['test'], intervals.get(label, {}), result.get('eval'), named.get(label, '–')))
  for name, result in first['baselines'].items():
    lines.append(_headline_row(f'baseline: {name}', result,
                               intervals.get(f'baseline: {name}', {})))
  lines += ['', '### Whole uncached pipeline run per model', '',
            'Wall time and peak resident memory of `local_runner.py --no-cache` (one process: '
            'LocalDagRunner and the in-memory Beam DirectRunner); the components\' times and '
            'the per-genre F1 and AP are in quality.json.', '',
            '| model | commit | date | machine | wall time | peak memory | blessed |',
            '| --- | --- | --- | --- | --- | --- | --- |']
  for name, result in results.items():
    lines.append(
        f"| {name} | {result['commit']} | {result['date']} | {result['machine']} | "
        f"{result['resources']['wall_seconds'] / 60:.1f} min | "
        f"{result['resources']['peak_rss_gb']:.2f} GB | {result['blessed']} |")
  lines += ['', END_MARKER]
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  if args.label and len(args.models) != 1:
    raise SystemExit('--label names one entry: give one model with it.')
  os.makedirs(args.output_dir, exist_ok=True)
  results_path = os.path.join(args.output_dir, 'quality.json')
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  for model_name in [] if args.render_only else args.models:
    label = args.label or model_name
    results[label] = _bench_model(model_name, label, args)
    with open(results_path, 'w') as f:
      json.dump(results, f, indent=2)
    print(json.dumps({k: v for k, v in results[label].items()
                      if k not in ('test', 'baselines')}, indent=2))
  intervals = bootstrap_intervals(results, args.output_dir, args.reference, args.bootstrap)
  named = genres_named(results, args.output_dir)
  for label, result in results.items():
    print(_headline_row(label, result['test'], intervals.get(label, {}), result.get('eval'),
                        named.get(label, '–')))
  if args.benchmarks:
    lib.write_section(args.benchmarks,
                      render_markdown(results, intervals, args.reference, args.bootstrap,
                                      named),
                      BEGIN_MARKER, END_MARKER)
    print(f'Wrote {args.benchmarks}')


if __name__ == '__main__':
  main()
