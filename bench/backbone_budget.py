"""Which frozen backbone is the strongest at the default's serving cost? EfficientNet-Lite0, 1
and 2, each at an input size whose backbone pass costs about what Lite0's at 288x192 does.

    nice -n 10 .venv/bin/python bench/backbone_budget.py --run-dir /tmp/bench_run \
        [--candidates lite0:288x192 lite1:256x176 ...] [--seeds 0 1 2] [--output FILE]

Research for issue 26, whose default must keep its serving cost per poster within 1.1x of
d16bcaf's (Lite0 at 288x192): a larger Lite at a smaller input is the one way to a stronger
backbone inside that bar. Per candidate (the first is the reference, the default):
  - cost: the backbone's pass over a batch of 32 inputs of that size, in rounds that take
    the candidates in turn, so a drift of the machine's speed hits each alike; the median ms
    per poster and its ratio to the reference. Decoding and resizing a poster, the same for
    every candidate, come on top: a whole served poster's ratio is nearer 1;
  - quality: every distinct poster of the run embedded at that size through the Transform's
    preprocessing (bench/lib.py caches the embeddings beside the run), then the Trainer's
    default head (three members averaged, each a pair since e7f3264; settings pinned, PINNED)
    per seed, and the decision rule 'base_rate' (the default's until e7f3264, which needs no
    out-of-fold heads) tuned on a cross-fitted `eval` as bench/decision_rules.py does: mAP,
    macro-F1 and micro-F1, means over the seeds (and over 5 fold assignments); the eval mAP
    and macro-F1 paired against the reference's, seed by seed, with bootstrap 95 % intervals
    over `eval` posters. `test` beside, never chosen on.
Writes the table to stdout and the results as JSON (--output); BENCHMARKS.md quotes it.
"""
import argparse
import dataclasses
import os
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from bench import decision_rules  # pylint: disable=g-import-not-at-top
from bench import stats  # pylint: disable=g-import-not-at-top

# The Trainer's default head and rule bounds when the table in BENCHMARKS.md was made.
PINNED = dict(decision_rules.PINNED, head_members=3)
SETTINGS = lib.pinned(**PINNED)
DEFAULT_CANDIDATES = ('lite0:288x192', 'lite1:256x176', 'lite1:240x160', 'lite2:256x176',
                      'lite2:240x160')
COST_BATCH = 32
COST_ROUNDS = 6
COST_CALLS = 5
# decision_rules' cross-fitting of `eval`.
EVAL_FOLDS = 5
FOLD_ASSIGNMENTS = 5
# The paired gains over the reference shown per seed.
GAINS = ('map', 'macro_f1')


def candidate(text: str) -> Tuple[str, Tuple[int, int]]:
  """'lite1:256x176' -> ('lite1', (256, 176))."""
  try:
    variant, size = text.split(':')
    height, width = (int(side) for side in size.split('x'))
  except ValueError as error:
    raise argparse.ArgumentTypeError(
        f'{text!r} is not VARIANT:HEIGHTxWIDTH, such as lite1:256x176.') from error
  return variant, (height, width)


def _parse_args() -> argparse.Namespace:
  arguments = lib.seeded_parser(__doc__, seeds=(0, 1, 2))
  arguments.add_argument('--candidates', type=candidate, nargs='+',
                         default=[candidate(text) for text in DEFAULT_CANDIDATES],
                         help='VARIANT:HEIGHTxWIDTH; the first is the reference.')
  arguments.add_argument('--output', default='backbone_budget.json')
  return arguments.parse_args()


def name(variant: str, size: Tuple[int, int]) -> str:
  return f'{variant} at {size[0]}x{size[1]}'


def costs(candidates: List[Tuple[str, Tuple[int, int]]]) -> Dict[str, List[float]]:
  """ms per poster of each candidate backbone's pass, one figure per round. The batch is
  noise in the model's input range: a dense network's time does not depend on the pixels."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from models import efficientnet_lite
  # pylint: enable=g-import-not-at-top
  passes = {}
  for variant, size in candidates:
    backbone = efficientnet_lite.build_backbone(variant, input_shape=(*size, 3))
    batch = tf.random.stateless_uniform((COST_BATCH, *size, 3), (0, 0), -1.0, 1.0)
    forward = tf.function(lambda images, model=backbone: model(images, training=False))
    forward(batch).numpy()  # Traced and warmed outside the clock.
    passes[name(variant, size)] = (forward, batch)
  timings = {key: [] for key in passes}
  for _ in range(COST_ROUNDS):
    for key, (forward, batch) in passes.items():
      started = time.perf_counter()
      for _ in range(COST_CALLS):
        forward(batch).numpy()
      timings[key].append((time.perf_counter() - started) / COST_CALLS / COST_BATCH * 1e3)
  return timings


def quality(arrays: Dict[str, np.ndarray], seed: int) -> Dict[str, object]:
  """One seed's default head under 'base_rate': the cross-fitted `eval` and the `test`
  figures, and (under 'judged') its `eval` scores and first cross-fitted decisions."""
  scores = lib.head_scores(arrays, seed, SETTINGS)
  labels = {split: arrays[f'{split}_labels'] for split in decision_rules.SPLITS}
  figures, decisions = decision_rules.cross_fitted_figures(
      decision_rules.tuned('base_rate'), labels, scores, decision_rules.fold_assignments(
          seed, len(labels['eval']), EVAL_FOLDS, FOLD_ASSIGNMENTS))
  return {**figures, 'judged': (scores['eval'], decisions)}


def render_markdown(results: Dict) -> str:
  lines = [f"`{results['command']}` ({results['machine']}, commit {results['commit']}, "
           f"{results['date']}); means over seeds {results['seeds']}, gains paired with the "
           'same seed\'s reference:', '',
           "| backbone | ms per poster (backbone, batch 32) | cost against the reference | "
           f"{' | '.join(decision_rules.FIGURE_COLUMNS)} | eval gain mAP per seed | "
           'eval gain macro-F1 per seed |', '| --- ' * 11 + '|']
  for key, row in results['candidates'].items():
    seeds = row['seeds']
    gains = [', '.join(lib.gain_cell(*seed['gains'][metric]) for seed in seeds
                       if seed['gains']) or '–' for metric in GAINS]
    lines.append(f"| {key} | {row['ms_per_poster']:.2f} | {row['cost_ratio']:.2f}x | "
                 f"{decision_rules.figure_cells(seeds)} | {' | '.join(gains)} |")
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  timings = costs(args.candidates)
  reference = name(*args.candidates[0])
  reference_cost = float(np.median(timings[reference]))
  rows, judged = {}, {}
  for variant, size in args.candidates:
    key = name(variant, size)
    arrays, _ = lib.embeddings(args.run_dir, variant, size)
    seeds = []
    for seed in args.seeds:
      found = quality(arrays, seed)
      judged.setdefault(seed, {})[key] = found.pop('judged')
      found['gains'] = {}
      if key != reference:
        intervals = stats.bootstrap(
            arrays['eval_labels'], {reference: judged[seed][reference], key: judged[seed][key]},
            reference=reference, resamples=args.bootstrap, seed=seed)[key]
        found['gains'] = {metric: dataclasses.astuple(intervals[f'{metric}_gain'])
                          for metric in GAINS}
      seeds.append(found)
      print(f'{key}, seed {seed}: eval mAP {found["eval_map"]:.3f}', flush=True)
    cost = float(np.median(timings[key]))
    rows[key] = {'ms_per_poster': cost, 'cost_ratio': cost / reference_cost,
                 'ms_per_poster_rounds': timings[key], 'seeds': seeds}
  results = {**lib.provenance(), 'run_dir': args.run_dir, 'seeds': args.seeds,
             'pinned': PINNED, 'candidates': rows}
  lib.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
