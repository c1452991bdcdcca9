"""Steadier decisions on small genres: which way of tuning the thresholds carries past `eval`?

    nice -n 10 .venv/bin/python bench/decision_rules.py \
        [--metadata-path /tmp/default_run/out/metadata/poster-genres/metadata.db] [--seeds 0 1 2]

Research for "Quality and speed". The Trainer tunes one threshold per genre on `eval`, each
at its genre's exact F1 optimum there (models/thresholds.py). Several genres have 8 to 19
`eval` positives, so that optimum is partly noise. The candidates, all with the Trainer's
1-to-3-genre rule and all on the same head's scores (so mAP does not move; only the decisions
do):
  - per-genre thresholds: the Trainer's rule;
  - one global threshold, the macro-F1 optimum shared by every genre;
  - per-genre thresholds shrunk toward the global one, (n t_genre + k t_global) / (n + k)
    for a genre with n tuning positives: the fewer positives, the nearer the global;
  - per-genre thresholds tuned on the `eval` posters together with out-of-fold scores of the
    train posters (each from a head trained on the other folds' posters): about 8 times the
    positives, from heads a little weaker than the final one.
A rule tuned and judged on the same posters wins by construction, so `eval` is cross-fitted:
its posters fall into folds, and each fold's decisions come from the rule tuned on the other
folds. The gain over the Trainer's rule is paired on those decisions, with a bootstrap 95%
interval over `eval` posters (from the first fold assignment; the mean over all assignments
beside it). On `test`, every rule is tuned on the whole of `eval`, as the Trainer would.
The head is bench/top_block.py's default recipe on its cached frozen embeddings, trained as
the Trainer trains it by default (no mirror views). Writes a markdown table to stdout and
the results as JSON (--output); BENCHMARKS.md is left alone.
"""
import argparse
import json
import os
import sys
from typing import Callable, Dict, List

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()
if __name__ == '__main__':
  runtime_env.quiet_known_noise()

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from bench import quality  # pylint: disable=g-import-not-at-top
from bench import top_block  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top

TRAINER_RULE = 'per-genre thresholds (the Trainer\'s rule)'
# (labels, scores) of the posters a rule is tuned on -> its thresholds.
Tuner = Callable[[np.ndarray, np.ndarray], List[float]]
RULE = top_block.DEFAULTS.trainer


def add_fold_args(parser: argparse.ArgumentParser) -> None:
  """The folds of the out-of-fold train scores and of the cross-fitted `eval` (shared with
  bench/label_cooccurrence.py)."""
  parser.add_argument('--train-folds', type=int, default=5,
                      help='Folds of train posters for the out-of-fold scores.')
  parser.add_argument('--eval-folds', type=int, default=5, help='Folds of the cross-fit.')


def _parse_args() -> argparse.Namespace:
  parser = top_block.seeded_parser(__doc__)
  parser.add_argument('--shrinkage', type=float, nargs='+', default=[10.0, 30.0],
                      help='Candidates k of the shrunk thresholds.')
  add_fold_args(parser)
  parser.add_argument('--fold-assignments', type=int, default=5,
                      help='Random assignments of eval posters to folds.')
  parser.add_argument('--output', default='/tmp/decision_rules_results.json')
  return parser.parse_args()


def tuned(policy: str) -> Tuner:
  """The Trainer's tuning for `policy` ('per_genre' or 'global'), under its bounds."""
  return lambda labels, scores: thresholds.tune_rule(
      labels, scores, policy, RULE.min_genres, RULE.max_genres).thresholds


per_genre = tuned('per_genre')


def global_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
  return tuned('global')(labels, scores)[0]


def shrunk(k: float) -> Tuner:
  def tune(labels: np.ndarray, scores: np.ndarray) -> List[float]:
    positives = labels.sum(axis=0)
    shared = global_threshold(labels, scores)
    return [(n * own + k * shared) / (n + k) for n, own in zip(positives, per_genre(labels,
                                                                                     scores))]
  return tune


def with_out_of_fold(train_labels: np.ndarray, train_scores: np.ndarray) -> Tuner:
  def tune(labels: np.ndarray, scores: np.ndarray) -> List[float]:
    return per_genre(np.concatenate([train_labels, labels]),
                     np.concatenate([train_scores, scores]))
  return tune


def decide(tuner: Tuner, labels: np.ndarray, scores: np.ndarray,
           judged: np.ndarray) -> np.ndarray:
  """Decisions on `judged` scores by the rule `tuner` makes of (labels, scores)."""
  return thresholds.apply_rule(judged, tuner(labels, scores), RULE.min_genres,
                               RULE.max_genres)


def cross_fitted(tuner: Tuner, labels: np.ndarray, scores: np.ndarray,
                 folds: np.ndarray) -> np.ndarray:
  """Each fold's decisions by the rule tuned on the other folds."""
  predicted = np.zeros(labels.shape, dtype=np.int64)
  for fold in np.unique(folds):
    rest = folds != fold
    predicted[~rest] = decide(tuner, labels[rest], scores[rest], scores[~rest])
  return predicted


def out_of_fold_scores(arrays: Dict[str, np.ndarray], folds: int, seed: int) -> np.ndarray:
  """Train posters' scores, each from a head trained on the other folds' posters."""
  train, labels = arrays[f'train_{top_block.EMBEDDING}'], arrays['train_labels']
  assignment = np.random.default_rng(seed).integers(0, folds, len(labels))
  scores = np.zeros(labels.shape, dtype=np.float32)
  for fold in range(folds):
    tf.keras.utils.set_random_seed(seed * 100 + fold)
    rest = assignment != fold
    head = top_block.train_default_head(train[rest], None, labels[rest],
                                        arrays[f'eval_{top_block.EMBEDDING}'],
                                        arrays['eval_labels'])
    scores[~rest] = head(train[~rest], training=False).numpy()
  return scores


def judge(labels: np.ndarray, scores: np.ndarray,
          decisions: Dict[str, np.ndarray], resamples: int, seed: int) -> Dict[str, Dict]:
  """Each rule's headline metrics and its paired gain over the Trainer's rule."""
  intervals = metrics.bootstrap(labels, {name: (scores, d) for name, d in decisions.items()},
                                reference=TRAINER_RULE, resamples=resamples, seed=seed,
                                min_support=quality.MIN_SUPPORT)
  return {name: {metric: [i.value, i.low, i.high] for metric, i in values.items()}
          for name, values in intervals.items()}


def default_head_scores(arrays: Dict[str, np.ndarray], seed: int) -> Dict[str, np.ndarray]:
  """`eval` and `test` scores of the head the Trainer trains by default (no mirror views)."""
  tf.keras.utils.set_random_seed(seed)
  head = top_block.train_default_head(arrays[f'train_{top_block.EMBEDDING}'], None,
                                      arrays['train_labels'],
                                      arrays[f'eval_{top_block.EMBEDDING}'],
                                      arrays['eval_labels'])
  return {split: head(arrays[f'{split}_{top_block.EMBEDDING}'], training=False).numpy()
          for split in ('eval', 'test')}


def run_seed(arrays: Dict[str, np.ndarray], tuners: Dict[str, Tuner], args: argparse.Namespace,
             seed: int) -> Dict[str, Dict]:
  scores = default_head_scores(arrays, seed)
  labels = {split: arrays[f'{split}_labels'] for split in ('eval', 'test')}
  tuners = {**tuners, 'per-genre on eval + out-of-fold train scores': with_out_of_fold(
      arrays['train_labels'], out_of_fold_scores(arrays, args.train_folds, seed))}

  rng = np.random.default_rng(seed)
  assignments = [rng.integers(0, args.eval_folds, len(labels['eval']))
                 for _ in range(args.fold_assignments)]
  eval_decisions = [{name: cross_fitted(tuner, labels['eval'], scores['eval'], folds)
                     for name, tuner in tuners.items()} for folds in assignments]
  mean_gain = {name: float(np.mean([
      metrics.macro_f1(labels['eval'], d[name], quality.MIN_SUPPORT)
      - metrics.macro_f1(labels['eval'], d[TRAINER_RULE], quality.MIN_SUPPORT)
      for d in eval_decisions])) for name in tuners}
  test_decisions = {name: decide(tuner, labels['eval'], scores['eval'], scores['test'])
                    for name, tuner in tuners.items()}
  return {'eval': judge(labels['eval'], scores['eval'], eval_decisions[0], args.bootstrap,
                        seed),
          'eval_mean_macro_f1_gain': mean_gain,
          'test': judge(labels['test'], scores['test'], test_decisions, args.bootstrap, seed)}


def render_markdown(results: Dict) -> str:
  lines = [f"Decision rules on one head's scores (`{results['command']}`, "
           f"{results['machine']}). `eval`: cross-fitted over {results['eval_folds']} folds "
           '(each fold decided by the rule tuned on the others); gains paired against the '
           "Trainer's rule with bootstrap 95% intervals over the split's posters; the mean "
           f"gain over {results['fold_assignments']} fold assignments beside. `test`: every "
           'rule tuned on the whole of `eval`. Choose on `eval`.', '',
           '| seed | rule | eval macro-F1 | eval gain macro-F1 | mean eval gain | '
           'eval micro-F1 | test macro-F1 | test gain macro-F1 | test micro-F1 |',
           '| --- ' * 9 + '|']

  for seed, result in results['seeds'].items():
    for name, e in result['eval'].items():
      t = result['test'][name]
      trainer = name == TRAINER_RULE
      lines.append(
          f"| {seed} | {name} | {e['macro_f1'][0]:.3f} | "
          f"{'–' if trainer else benchmarks_md.gain_cell(*e['macro_f1_gain'])} | "
          f"{'–' if trainer else format(result['eval_mean_macro_f1_gain'][name], '+.3f')} | "
          f"{e['micro_f1'][0]:.3f} | {t['macro_f1'][0]:.3f} | "
          f"{'–' if trainer else benchmarks_md.gain_cell(*t['macro_f1_gain'])} | "
          f"{t['micro_f1'][0]:.3f} |")
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  # The frozen embeddings of bench/top_block.py's cache (any cut's activations will do).
  examples_uri, _, arrays = top_block.cached_lite0(args, ())
  tuners: Dict[str, Tuner] = {
      TRAINER_RULE: per_genre,
      'one global threshold': tuned('global'),
      **{f'per-genre shrunk to the global, k = {k:g}': shrunk(k) for k in args.shrinkage}}
  seeds: Dict[int, Dict] = {}
  for seed in args.seeds:
    seeds[seed] = run_seed(arrays, tuners, args, seed)
    print(json.dumps({seed: seeds[seed]['eval_mean_macro_f1_gain']}), flush=True)
  results = {'command': benchmarks_md.command(), 'machine': benchmarks_md.machine(),
             'examples_uri': examples_uri, 'eval_folds': args.eval_folds,
             'fold_assignments': args.fold_assignments, 'bootstrap_resamples': args.bootstrap,
             'seeds': seeds}
  benchmarks_md.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
