"""What a whole uncached run costs as the data grow: the shared posters at 1x and at 3x.

    .venv/bin/python bench/scale.py [--data-root ../shared/data/movie-classifier] \
        [--work-dir /tmp/scale_bench] [--factors 1 3]

For each factor k, a data root in the Kaggle layout under `<work dir>/data-<k>x/` holds k
versions of every shared poster: the poster itself (a link to the shared file) and k - 1
variants made from it (VARIANTS: a mirror image, a centre crop re-encoded, ...), each under
an Id of its own (`<Id>v<i>`) with the poster's labels. The variants are distinct images
(their own bytes and SHA-256), so every component sees k times the posters; they are near
copies of each other, so quality at k > 1 is not a finding, only cost is; each is encoded so
that ingest puts it in its original's split, as a poster's own copies would be. Nothing is
committed: the data root is made afresh.

`local_runner.py --data-root <root>` then runs as a user runs it, in a fresh process with
an empty output directory, and the script records: the wall time and the peak resident
memory of that process (os.wait4), every component's seconds (ML Metadata), the backbone
passes of PosterEmbedder and of the Trainer, how each Evaluator scored the models (on the
stored embeddings or on the posters), the posters per split, and the verdict. Results go to
`<work dir>/results.json`; the table is printed and, with --benchmarks, written into
BENCHMARKS.md between the markers below.
"""
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from components.poster_example_gen import splits  # pylint: disable=g-import-not-at-top
from contract import layout  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

BEGIN_MARKER, END_MARKER = lib.markers('scale.py')
DEFAULT_WORK_DIR = '/tmp/scale_bench'
SPLITS = lib.SPLITS


def _mirror(image):
  from PIL import ImageOps  # pylint: disable=g-import-not-at-top
  return ImageOps.mirror(image), 95


def _crop(fraction):
  def crop(image):
    width, height = image.size
    dx, dy = int(width * (1 - fraction) / 2), int(height * (1 - fraction) / 2)
    return image.crop((dx, dy, width - dx, height - dy)), 90
  return crop


def _mirrored_crop(image):
  return _mirror(_crop(0.85)(image)[0])[0], 85


# Variant i of a poster (Id `<Id>v<i>`): an image made from it, and its JPEG quality.
VARIANTS = (_mirror, _crop(0.92), _mirrored_crop)


def _encode_in_split(image, quality: int, split: str, split_buckets) -> bytes:
  """The variant as JPEG bytes that ingest assigns to `split`, its original's split: the
  first quality from `quality` down whose encoding hashes there. A variant in another split
  than its original is a near copy of a training poster in `eval` or `test`: validation
  then scores training posters, and early stopping never fires (BENCHMARKS.md)."""
  for q in range(quality, quality - 100, -1):
    buffer = io.BytesIO()
    image.save(buffer, format='JPEG', quality=q)
    encoded = buffer.getvalue()
    if splits.assign_split(hashlib.sha256(encoded).hexdigest(), split_buckets) == split:
      return encoded
  raise RuntimeError(f'No JPEG quality from {quality} down puts the variant in {split!r}.')


def make_data_root(source_root: str, target_root: str, factor: int) -> int:
  """The shared posters and `factor - 1` variants of each, in the Kaggle layout under
  `target_root`; returns the CSV rows written. Rows whose image is missing or unreadable are
  kept as they are (ingest counts and reports them, as for the shared data)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  split_buckets = list(configs.SPLIT_BUCKETS.items())
  if not 1 <= factor <= len(VARIANTS) + 1:
    raise ValueError(f'Factors from 1 to {len(VARIANTS) + 1}, not {factor}.')
  with open(os.path.join(source_root, layout.LABELS_FILE), encoding='utf-8-sig',
            newline='') as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = list(reader)
  images = os.path.join(target_root, layout.IMAGES_DIR)
  os.makedirs(images)
  written = []
  for row in rows:
    written.append(row)
    source = os.path.abspath(os.path.join(source_root, layout.IMAGES_DIR,
                                          row[0] + layout.IMAGE_EXTENSION))
    target = os.path.join(images, row[0] + layout.IMAGE_EXTENSION)
    if not os.path.exists(source) or os.path.lexists(target):  # Repeated Ids: one image.
      continue
    os.symlink(source, target)
    try:
      with Image.open(source) as poster:
        poster = poster.convert('RGB')
    except OSError:
      continue
    with open(source, 'rb') as f:
      split = splits.assign_split(hashlib.sha256(f.read()).hexdigest(), split_buckets)
    for i, variant in enumerate(VARIANTS[:factor - 1], start=1):
      image, quality = variant(poster)
      encoded = _encode_in_split(image, quality, split, split_buckets)
      with open(os.path.join(images, f'{row[0]}v{i}{layout.IMAGE_EXTENSION}'), 'wb') as f:
        f.write(encoded)
      written.append([f'{row[0]}v{i}', *row[1:]])
  with open(os.path.join(target_root, layout.LABELS_FILE), 'w', encoding='utf-8',
            newline='') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(written)
  return len(written)


def run_pipeline(data_root: str, output_dir: str, log_path: str) -> dict:
  """`local_runner.py` on `data_root` in a fresh process: wall seconds, peak memory."""
  started = time.monotonic()
  with open(log_path, 'w') as log:
    process = subprocess.Popen(
        [sys.executable, 'local_runner.py', '--data-root', data_root, '--output-dir',
         output_dir], cwd=lib.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
  if os.waitstatus_to_exitcode(status):
    raise RuntimeError(f'local_runner.py failed on {data_root}: see {log_path}.')
  return {'wall_seconds': round(time.monotonic() - started, 1),
          'peak_rss_gb': round(usage.ru_maxrss / 1024 ** 2, 2)}


def describe_run(output_dir: str) -> dict:
  """What the run in `output_dir` did, from ML Metadata and its artifacts."""
  # pylint: disable=g-import-not-at-top
  from tfx.orchestration import metadata
  from components.evaluator import executor as genre_evaluator
  from contract import nodes
  from models import data
  from models import embeddings
  from pipeline import run_summary
  # pylint: enable=g-import-not-at-top
  config = configs.PipelineConfig.of(output_dir=output_dir)
  runs = {run.node_id: run for run in run_summary.latest_run(
      metadata.sqlite_metadata_connection_config(config.metadata_path))}
  examples = runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]
  result = {
      'components': {node: round(run.seconds, 1) for node, run in runs.items()},
      'examples': {split: sum(1 for _ in data.records(data.matching_files(
          [os.path.join(examples, f'Split-{split}', '*')]))) for split in SPLITS},
      'backbone_passes': {}, 'scored_with': {}}
  if nodes.EMBEDDER in runs:
    with open(os.path.join(runs[nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES][0],
                           embeddings.SUMMARY_FILE)) as f:
      result['backbone_passes'][nodes.EMBEDDER] = sum(
          split['backbone_views'] for split in json.load(f)['splits'].values())
  with open(os.path.join(runs[nodes.TRAINER].output_uris['model_run'][0],
                         embeddings.SUMMARY_FILE)) as f:
    result['backbone_passes'][nodes.TRAINER] = sum(
        split['backbone_views'] for split in json.load(f).values())
  for node in (nodes.EVALUATOR, nodes.TEST_EVALUATOR):
    with open(os.path.join(runs[node].output_uris[nodes.EVALUATION][0],
                           genre_evaluator.GATE_FILE)) as f:
      result['scored_with'][node] = json.load(f).get('signatures')
  blessing = runs[nodes.EVALUATOR].output_uris[nodes.BLESSING][0]
  result['blessed'] = os.path.exists(os.path.join(blessing, 'BLESSED'))
  return result


def render(results: dict) -> str:
  factors = sorted(results['runs'], key=int)
  first = results['runs'][factors[0]]
  posters = {k: sum(results['runs'][k]['examples'].values()) for k in factors}
  lines = [lib.generated_by(results), '',
           '| data | examples (train / eval / test) | wall | per poster vs 1x | peak memory | '
           'backbone passes (PosterEmbedder + Trainer) | Evaluators scored on | blessed |',
           '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for k in factors:
    run = results['runs'][k]
    split_counts = ' / '.join(str(run['examples'][s]) for s in SPLITS)
    ratio = ((run['wall_seconds'] / posters[k]) / (first['wall_seconds'] / posters[factors[0]]))
    passes = ' + '.join(str(run['backbone_passes'].get(node, 0))
                        for node in ('PosterEmbedder', 'Trainer'))
    scored = ', '.join(sorted({str(s) for signatures in run['scored_with'].values()
                               for s in (signatures or {}).values() if s}))
    lines.append(f"| {k}x | {split_counts} | {run['wall_seconds']:.0f} s | {ratio:.2f} | "
                 f"{run['peak_rss_gb']:.2f} GB | {passes} | {scored or '-'} | "
                 f"{'yes' if run['blessed'] else 'no'} |")
  quick = [node for node in first['components']
           if all(results['runs'][k]['components'].get(node, 0) < 0.5 for k in factors)]
  lines += ['', 'Seconds per component, and per 1,000 examples (under half a second at every '
            f"size: {', '.join(quick) or 'none'}):", '',
            '| component | ' + ' | '.join(f'{k}x' for k in factors) + ' |',
            '| --- |' + ' --- |' * len(factors)]
  for node in (node for node in first['components'] if node not in quick):
    cells = []
    for k in factors:
      seconds = results['runs'][k]['components'].get(node)
      cells.append('-' if seconds is None else
                   f'{seconds:.0f} ({1000 * seconds / posters[k]:.1f})')
    lines.append(f'| {node} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def main() -> None:
  parser = lib.parser(__doc__)
  lib.add_data_and_work_dir(parser, DEFAULT_WORK_DIR, 'the data roots, the runs and their logs')
  parser.add_argument('--factors', type=int, nargs='+', default=[1, 3])
  parser.add_argument('--data-only', action='store_true',
                      help='Make the data roots and stop (e.g. for bench/continuous_training.py '
                           '--data-root).')
  lib.add_benchmarks(parser, default='')
  args = parser.parse_args()
  shutil.rmtree(args.work_dir, ignore_errors=True)
  results = {**lib.provenance(), 'runs': {}}
  for factor in args.factors:
    data_root = os.path.join(args.work_dir, f'data-{factor}x')
    rows = make_data_root(args.data_root, data_root, factor)
    print(f'{factor}x: {rows} CSV rows in {data_root}', flush=True)
    if args.data_only:
      continue
    output = os.path.join(args.work_dir, f'output-{factor}x')
    resources = run_pipeline(data_root, output, os.path.join(args.work_dir, f'run-{factor}x.log'))
    results['runs'][str(factor)] = {'csv_rows': rows, **resources, **describe_run(output)}
    print(f"{factor}x: {resources['wall_seconds']:.0f} s, {resources['peak_rss_gb']:.2f} GB",
          flush=True)
  if not args.data_only:
    with open(os.path.join(args.work_dir, 'results.json'), 'w') as f:
      json.dump(results, f, indent=2)
    lib.publish('\n'.join([BEGIN_MARKER, '', render(results), '', END_MARKER]),
                args.benchmarks, BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
