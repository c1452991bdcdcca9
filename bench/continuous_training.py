"""Continuous training: what a run costs when a drop of new posters arrives as a span.

    .venv/bin/python bench/continuous_training.py [--work-dir DIR] [--new-fraction 0.1]

Splits the shared posters by a hash of their Id into span 0 (90 %) and span 1 (10 %), each
in the Kaggle layout under `<work dir>/drops/span-<N>/` (the posters are symbolic links to
the shared ones), and runs `local_runner.py --spans` as a user does, in a fresh process each:
  1. `full`: span 0 alone, from an empty output directory;
  2. `drop`: after span 1 is added;
  3. `no new data`: again, with nothing added.
For each run it records the wall time, every component's state and time (ML Metadata), the
backbone passes of PosterEmbedder and of the Trainer, the posters the Evaluators scored,
and whether the model was blessed and pushed. It writes `<work dir>/results.json` and prints
the table that BENCHMARKS.md quotes.
"""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from contract import layout  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

REPO_ROOT = lib.REPO_ROOT
RUNS = ('full', 'drop', 'no new data')


def split_drops(data_root: str, drops_root: str, new_fraction: float) -> dict:
  """Writes span 0 (rows whose Id hashes below 1 - new_fraction) and span 1 (the rest), but
  span 1 into `<drops root>/pending/`, to be moved in before the second run."""
  labels = os.path.join(data_root, layout.LABELS_FILE)
  with open(labels, encoding='utf-8-sig', newline='') as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = list(reader)

  def is_new(poster_id: str) -> bool:
    digest = int(hashlib.sha256(poster_id.encode()).hexdigest()[:8], 16)
    return digest / 0x100000000 >= 1.0 - new_fraction

  spans = {0: [r for r in rows if not is_new(r[0])], 1: [r for r in rows if is_new(r[0])]}
  for span, span_rows in spans.items():
    span_dir = os.path.join(drops_root, *([] if span == 0 else ['pending']), f'span-{span}')
    images = os.path.join(span_dir, layout.IMAGES_DIR)
    os.makedirs(images)
    os.makedirs(os.path.dirname(os.path.join(span_dir, layout.LABELS_FILE)), exist_ok=True)
    with open(os.path.join(span_dir, layout.LABELS_FILE), 'w', encoding='utf-8',
              newline='') as f:
      writer = csv.writer(f, lineterminator='\n')
      writer.writerow(header)
      writer.writerows(span_rows)
    for row in span_rows:
      # Absolute: a link holds its target as written, and resolves it from its own folder.
      source = os.path.abspath(os.path.join(data_root, layout.IMAGES_DIR,
                                            row[0] + layout.IMAGE_EXTENSION))
      if os.path.exists(source):
        target = os.path.join(images, row[0] + layout.IMAGE_EXTENSION)
        if not os.path.lexists(target):  # Repeated Ids share one image file.
          os.symlink(source, target)
  return {span: len(span_rows) for span, span_rows in spans.items()}


def run_pipeline(drops_root: str, output_dir: str, log_path: str) -> float:
  started = time.monotonic()
  with open(log_path, 'w') as log:
    subprocess.run([sys.executable, 'local_runner.py', '--spans', '--data-root', drops_root,
                    '--output-dir', output_dir], cwd=REPO_ROOT, stdout=log,
                   stderr=subprocess.STDOUT, check=True)
  return time.monotonic() - started


def _count_records(split_dirs) -> int:
  from models import data  # pylint: disable=g-import-not-at-top
  files = data.matching_files([os.path.join(d, '*') for d in split_dirs])
  return sum(1 for _ in data.records(files))


def describe_run(output_dir: str) -> dict:
  """What the newest run in `output_dir` did, from ML Metadata and its artifacts."""
  # pylint: disable=g-import-not-at-top
  from contract import nodes
  from models import embeddings
  # pylint: enable=g-import-not-at-top
  config = configs.PipelineConfig.of(output_dir=output_dir)
  runs = lib.latest_runs(config.metadata_path)
  result = {'components': {node: {'state': run.state, 'seconds': round(run.seconds, 1)}
                           for node, run in runs.items()}}
  embedder = runs[nodes.EMBEDDER]
  with open(os.path.join(embedder.output_uris[nodes.EMBEDDED_EXAMPLES][0],
                         embeddings.SUMMARY_FILE)) as f:
    embedded = json.load(f)
  result['embedder_backbone_views'] = (
      0 if embedder.state == 'CACHED'
      else sum(s['backbone_views'] for s in embedded['splits'].values()))
  result['embedder_span'] = embedded['span']
  with open(os.path.join(runs[nodes.TRAINER].output_uris['model_run'][0],
                         embeddings.SUMMARY_FILE)) as f:
    trained = json.load(f)
  result['trainer'] = trained if runs[nodes.TRAINER].state != 'CACHED' else 'cached'
  if runs[nodes.EVALUATOR].state != 'CACHED':
    for node, split in ((nodes.EVALUATOR, 'eval'), (nodes.TEST_EVALUATOR, 'test')):
      uris = runs[node].input_uris[nodes.EXAMPLES]
      result[f'{split}_posters_scored'] = _count_records(
          [os.path.join(uri, f'Split-{split}') for uri in uris])
      result[f'{split}_window_spans'] = len(uris)
  blessings = runs[nodes.EVALUATOR].output_uris.get(nodes.BLESSING, [])
  result['blessed'] = bool(blessings) and os.path.exists(
      os.path.join(blessings[0], 'BLESSED'))
  result['serving_versions'] = sorted(os.listdir(config.serving_model_dir))
  return result


def render(results: dict) -> str:
  full = results['runs']['full']['wall_seconds']
  lines = [
      f"`{results['command']}` on {results['machine']}, commit {results['commit']}, "
      f"{results['date']}. Span 0: "
      f"{results['span_rows'][0]} CSV rows, span 1: {results['span_rows'][1]}.",
      '',
      '| run | wall | of full | Embedder backbone passes | Trainer backbone passes '
      '(reused) | eval / test posters scored | blessed | served versions |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for name in RUNS:
    run = results['runs'][name]
    trainer = run['trainer']
    if trainer == 'cached':
      trainer_cell = 'cached'
    else:
      passes = sum(trainer[s]['backbone_views'] for s in ('train', 'eval'))
      reused = sum(trainer[s]['reused'] for s in ('train', 'eval'))
      trainer_cell = f'{passes} ({reused})'
    scored = (f"{run['eval_posters_scored']} / {run['test_posters_scored']}"
              if 'eval_posters_scored' in run else 'cached')
    lines.append(
        f"| {name} | {run['wall_seconds']:.0f} s | {run['wall_seconds'] / full:.0%} | "
        f"{run['embedder_backbone_views']} | {trainer_cell} | {scored} | "
        f"{'yes' if run['blessed'] else 'no'} | {', '.join(run['serving_versions'])} |")
  lines += ['', 'Components (seconds; C: cached):', '',
            '| component | ' + ' | '.join(RUNS) + ' |', '| --- |' + ' --- |' * len(RUNS)]
  for node in results['runs']['full']['components']:
    cells = []
    for name in RUNS:
      component = results['runs'][name]['components'].get(node)
      cells.append('-' if component is None else
                   'C' if component['state'] == 'CACHED' else f"{component['seconds']:.0f}")
    lines.append(f'| {node} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def main() -> None:
  parser = lib.parser(__doc__)
  lib.add_data_and_work_dir(parser, '/tmp/continuous_training_bench',
                            'the drops, the runs\' outputs and logs')
  parser.add_argument('--new-fraction', type=float, default=0.1,
                      help='Share of the posters that arrive as span 1.')
  args = parser.parse_args()
  shutil.rmtree(args.work_dir, ignore_errors=True)
  drops = os.path.join(args.work_dir, 'drops')
  output = os.path.join(args.work_dir, 'output')
  results = {**lib.provenance(),
             'span_rows': split_drops(args.data_root, drops, args.new_fraction), 'runs': {}}
  for name in RUNS:
    if name == 'drop':
      os.rename(os.path.join(drops, 'pending', 'span-1'), os.path.join(drops, 'span-1'))
      os.rmdir(os.path.join(drops, 'pending'))
    log = os.path.join(args.work_dir, f"run-{name.replace(' ', '-')}.log")
    seconds = run_pipeline(drops, output, log)
    results['runs'][name] = {'wall_seconds': round(seconds, 1), **describe_run(output)}
    print(f'{name}: {seconds:.0f} s', flush=True)
  lib.report(results, render(results), os.path.join(args.work_dir, 'results.json'))


if __name__ == '__main__':
  main()
