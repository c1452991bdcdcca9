"""A second stage on label co-occurrence: does knowing a poster's other genre scores help?

    nice -n 10 .venv/bin/python bench/label_cooccurrence.py \
        [--metadata-path /tmp/default_run/out/metadata/poster-genres/metadata.db] [--seeds 0 1 2]

Research for "Quality and speed". Genres come in pairs (Animation -> Adventure, History ->
Biography), so a poster's score for one genre may say something about another. The
candidate re-scores every genre from all of the first stage's logits: z' = z + W z + b (W
starts at zero, so it starts as the first stage), an L2 penalty on W. It must learn from
scores like those it will see: a head's scores on its own training posters are overfit, so
the second stage trains on out-of-fold scores of the train posters (each from a head trained
on the other folds, bench/decision_rules.py), then re-scores the default head's `eval` and
`test` scores. It never sees `eval` labels, so `eval` mAP is an honest choice criterion;
`eval` macro-F1 is cross-fitted (each fold decided by the default rule, one global threshold,
tuned on the other folds). Gains are paired against the same seed's first stage with
bootstrap 95% intervals; `test` beside it, every rule tuned on the whole of `eval`. Writes a
markdown table to stdout and the results as JSON (--output); BENCHMARKS.md is left alone.
"""
import argparse
import json
import os
import sys
from typing import Callable, Dict

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()
if __name__ == '__main__':
  runtime_env.quiet_known_noise()

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from bench import decision_rules  # pylint: disable=g-import-not-at-top
from bench import head_levers  # pylint: disable=g-import-not-at-top
from bench import quality  # pylint: disable=g-import-not-at-top
from bench import top_block  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top

FIRST_STAGE = 'first stage (the default head)'
DEFAULT_RULE = decision_rules.tuned(top_block.DEFAULTS.trainer.threshold_policy)


def _parse_args() -> argparse.Namespace:
  parser = top_block.seeded_parser(__doc__)
  parser.add_argument('--l2', type=float, nargs='+', default=[1e-3, 1e-2],
                      help="Candidates: the L2 penalty on the second stage's weights.")
  decision_rules.add_fold_args(parser)
  parser.add_argument('--epochs', type=int, default=60)
  parser.add_argument('--output', default='/tmp/label_cooccurrence_results.json')
  return parser.parse_args()


def second_stage(train_scores: np.ndarray, train_labels: np.ndarray, l2: float, epochs: int,
                 seed: int) -> Callable[[np.ndarray], np.ndarray]:
  """Scores -> re-scored scores, z + W z + b on the logits, fit on (train_scores, labels)."""
  tf.keras.utils.set_random_seed(seed)
  genres = train_labels.shape[1]
  logits = tf.keras.Input((genres,))
  mixed = tf.keras.layers.Dense(genres, kernel_initializer='zeros',
                                kernel_regularizer=tf.keras.regularizers.l2(l2))(logits)
  model = tf.keras.Model(logits, tf.sigmoid(logits + mixed))
  model.compile(tf.keras.optimizers.Adam(1e-2), 'binary_crossentropy')
  model.fit(head_levers.logit(train_scores), train_labels, batch_size=256, epochs=epochs,
            verbose=0)
  return lambda scores: model.predict(head_levers.logit(scores), verbose=0)


def run_seed(arrays: Dict[str, np.ndarray], args: argparse.Namespace,
             seed: int) -> Dict[str, Dict]:
  first = decision_rules.default_head_scores(arrays, seed)
  out_of_fold = decision_rules.out_of_fold_scores(arrays, args.train_folds, seed)
  candidates = {FIRST_STAGE: first}
  for l2 in args.l2:
    rescore = second_stage(out_of_fold, arrays['train_labels'], l2, args.epochs, seed)
    candidates[f'second stage, L2 {l2:g}'] = {split: rescore(s) for split, s in first.items()}
  labels = {split: arrays[f'{split}_labels'] for split in ('eval', 'test')}
  folds = np.random.default_rng(seed).integers(0, args.eval_folds, len(labels['eval']))
  runs = {
      'eval': {name: (s['eval'], decision_rules.cross_fitted(DEFAULT_RULE, labels['eval'],
                                                             s['eval'], folds))
               for name, s in candidates.items()},
      'test': {name: (s['test'], decision_rules.decide(DEFAULT_RULE, labels['eval'],
                                                       s['eval'], s['test']))
               for name, s in candidates.items()}}
  return {split: {name: {metric: [i.value, i.low, i.high] for metric, i in values.items()}
                  for name, values in metrics.bootstrap(
                      labels[split], runs[split], reference=FIRST_STAGE,
                      resamples=args.bootstrap, seed=seed,
                      min_support=quality.MIN_SUPPORT).items()}
          for split in runs}


def _gain(values: Dict, metric: str) -> str:
  """The gain's cell; the first stage, the reference, has none."""
  gain = values.get(f'{metric}_gain')
  return benchmarks_md.gain_cell(*gain) if gain else '–'


def render_markdown(results: Dict) -> str:
  lines = [f"Second stage on label co-occurrence (`{results['command']}`, "
           f"{results['machine']}). `eval`: mAP of scores fit without `eval`, macro-F1 "
           f"cross-fitted over {results['eval_folds']} folds; `test`: the rule tuned on all "
           'of `eval`. Gains paired against the same seed\'s first stage, bootstrap 95% '
           'intervals over the split\'s posters. Choose on `eval`.', '',
           '| seed | scores | eval mAP | eval gain mAP | eval gain macro-F1 | test mAP | '
           'test gain mAP | test macro-F1 | test gain macro-F1 |', '| --- ' * 9 + '|']
  for seed, result in results['seeds'].items():
    for name, e in result['eval'].items():
      t = result['test'][name]
      lines.append(f"| {seed} | {name} | {e['map'][0]:.3f} | {_gain(e, 'map')} | "
                   f"{_gain(e, 'macro_f1')} | {t['map'][0]:.3f} | {_gain(t, 'map')} | "
                   f"{t['macro_f1'][0]:.3f} | {_gain(t, 'macro_f1')} |")
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  # The frozen embeddings of bench/top_block.py's cache (any cut's activations will do).
  examples_uri, _, arrays = top_block.cached_lite0(args, ())
  seeds = {}
  for seed in args.seeds:
    seeds[seed] = run_seed(arrays, args, seed)
    print(json.dumps({seed: {name: values['map_gain'] for name, values
                             in seeds[seed]['eval'].items() if 'map_gain' in values}}),
          flush=True)
  results = {'command': benchmarks_md.command(), 'machine': benchmarks_md.machine(),
             'examples_uri': examples_uri, 'eval_folds': args.eval_folds,
             'bootstrap_resamples': args.bootstrap, 'seeds': seeds}
  benchmarks_md.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
