"""The decision rule's cap on genres per poster: its effect on eval and test F1.

    .venv/bin/python bench/genre_cap.py [--model-dir DIR] [--examples-dir DIR]

Scores the `eval` and `test` posters of one finished run with its Trainer's model (defaults:
the newest under tfx_pipeline_output/), then compares decision rules built on those scores
(THRESHOLD_POLICY, pinned): no cap, each cap with the thresholds tuned without it (then
capped), and each cap tuned with it in place, as the Trainer tunes. Thresholds are tuned on
`eval` only; `test` is shown, never chosen on. Macro-F1 averages the genres with at least 5
positives in the split. Results go into BENCHMARKS.md between the markers below.
"""
import dataclasses
import glob
import os
import sys
from typing import Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from bench import stats  # pylint: disable=g-import-not-at-top
from contract import nodes  # pylint: disable=g-import-not-at-top
from models import batch_predict  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

# The rules the table in BENCHMARKS.md was made with: the Trainer's policy and floor of
# f8f81e3, the caps compared and the default among them; pinned, not the live defaults.
THRESHOLD_POLICY = 'global'
MIN_GENRES = 1
CAPS = (2, 3, 4)
DEFAULT_CAP = 3
BEGIN_MARKER, END_MARKER = lib.markers('genre_cap.py')


def _newest(pattern: str) -> str:
  found = sorted(glob.glob(pattern), key=os.path.getmtime)
  if not found:
    raise FileNotFoundError(f'Nothing matches {pattern}.')
  return found[-1]


def rules(eval_labels: np.ndarray, eval_scores: np.ndarray
          ) -> Dict[str, thresholds.DecisionRule]:
  """name -> decision rule, all tuned on eval."""
  uncapped = thresholds.tune_rule(eval_labels, eval_scores, THRESHOLD_POLICY, MIN_GENRES, None)
  found = {'no cap': uncapped}
  for cap in CAPS:
    found[f'cap {cap}, tuned without it'] = dataclasses.replace(uncapped, max_genres=cap)
    found[f'cap {cap}, tuned with it'] = thresholds.tune_rule(
        eval_labels, eval_scores, THRESHOLD_POLICY, MIN_GENRES, cap)
  return found


def render_markdown(rows: Dict[str, List[float]], model_dir: str, made: Dict[str, str]) -> str:
  lines = [BEGIN_MARKER, '', '## Genres per poster: the decision rule\'s cap '
           '(bench/genre_cap.py)', '',
           f'{lib.generated_by(made)} Model: `{model_dir}`. Every rule gives a poster at least '
           f'{MIN_GENRES} genre; {THRESHOLD_POLICY} thresholds tuned on `eval`. The default is '
           f'`max_genres` = {DEFAULT_CAP}, tuned with the cap. Macro-F1 over genres with at '
           f'least {stats.MIN_SUPPORT} positives.', '',
           '| rule | eval micro-F1 | eval macro-F1 | eval samples-F1 | test micro-F1 | '
           'test macro-F1 | test samples-F1 | test genres per poster (mean) |',
           '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for name, cells in rows.items():
    lines.append(f'| {name} | ' + ' | '.join(f'{c:.3f}' for c in cells[:-1])
                 + f' | {cells[-1]:.2f} |')
  return '\n'.join(lines + ['', END_MARKER])


def main() -> None:
  parser = lib.parser(__doc__)
  root = os.path.join(lib.REPO_ROOT, 'tfx_pipeline_output',
                      configs.PipelineConfig().pipeline_name)
  parser.add_argument('--model-dir', default=None,
                      help='A Trainer model (its Format-Serving directory).')
  parser.add_argument('--examples-dir', default=None, help='Its PosterExampleGen examples.')
  lib.add_benchmarks(parser)
  args = parser.parse_args()
  model_dir = args.model_dir or _newest(os.path.join(root, nodes.TRAINER, nodes.MODEL, '*',
                                                     'Format-Serving'))
  examples_dir = args.examples_dir or _newest(os.path.join(root, nodes.EXAMPLE_GEN,
                                                           'examples', '*'))
  scored = {}
  for split in ('eval', 'test'):
    posters = batch_predict.read_split(examples_dir, split)
    scores, _, classes = batch_predict.score(model_dir, posters.images)
    if list(classes) != list(posters.genres):
      raise ValueError(f'{model_dir} has genres {classes}, {examples_dir} {posters.genres}.')
    scored[split] = (posters.labels, scores)
  rows = {}
  for name, rule in rules(*scored['eval']).items():
    cells = []
    for split in ('eval', 'test'):
      labels, scores = scored[split]
      predicted = rule.apply(scores)
      cells += [metrics.micro_f1(labels, predicted),
                metrics.macro_f1(labels, predicted, min_support=stats.MIN_SUPPORT),
                stats.samples_f1(labels, predicted)]
    rows[name] = cells + [float(predicted.sum(axis=1).mean())]
    print(name, ' '.join(f'{c:.3f}' for c in rows[name]), flush=True)
  lib.publish(render_markdown(rows, model_dir, lib.provenance()), args.benchmarks,
              BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
