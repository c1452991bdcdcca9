"""Rare genres within 1 to 3 genres per poster: which decision rule, and which training choices?

    nice -n 10 .venv/bin/python bench/decision_rules.py --run-dir /tmp/bench_run \
        [--seeds 0 1 2] [--skip-training-choices] [--members 1 3 5 [--pulls ...] [--skip-rules]]

Research for issues "Quality and speed" and 26. The head's scores feed a decision rule tuned
on `eval` (models/thresholds.py) that gives every poster 1 to 3 genres. Several genres have
8 to 19 `eval` positives, so a per-genre optimum there is partly noise; and when the slots of
the cap go to the highest raw scores, Drama, Comedy and Action take them from rare genres
whatever the rare genres' evidence. Part 1, the rules, all on the same head's scores (so mAP
does not move; only the decisions do), all within the Trainer's bounds:
  - one global threshold, slots by score: the default of commit d16bcaf, the reference;
  - per-genre thresholds, slots by score: the rule before it;
  - per-genre thresholds shrunk toward the global one, (n t_genre + k t_global) / (n + k) for
    a genre with n tuning positives, slots by score;
  - per-genre thresholds tuned on the `eval` posters together with out-of-fold scores of the
    train posters (each from a head trained on the other folds' posters), slots by score;
  - per-genre thresholds with slots by margin logit(score) - logit(threshold), each genre's
    F1 optimum given the others' thresholds (exact, in rounds), shrunk toward the global
    threshold in logit space with k pseudo-positives;
  - a calibrated probability per genre (Platt: sigmoid(a logit(score) + b), fitted on the
    tuning posters with an L2 pull toward the identity), one global probability threshold,
    slots by calibrated probability;
  - the 'base_rate' policy of models/thresholds.py: thresholds from a level and a tilt
    toward each genre's base rate, slots by margin.
Part 2 re-checks the oversampler's strength (the losses it also compared left the product
with the `loss` knob: `git show 44f3d12:bench/decision_rules.py`), one head per choice and
seed on the cached frozen embeddings, each judged with the reference rule and with the
'base_rate' one; mAP gains are paired against the same seed's default head.
Part 3 (--members) averages the scores of several members of one seed (each from its own
initialisation, as the Trainer's `head_members` does: on embeddings with pooled block
features each member is a pair of heads, models/transfer.py), each judged by the reference
rule, by 'base_rate' tuned for macro-F1 alone or for macro-F1 plus micro-F1, and by the
'margin' policy at each of --pulls, tuned on `eval` with the train posters' out-of-fold scores
as the Trainer tunes it; means over the seeds, `eval` cross-fitted over every fold assignment.
A rule tuned and judged on the same posters wins by construction, so `eval` is cross-fitted:
its posters fall into folds, and each fold's decisions come from the rule tuned on the other
folds. Gains are paired on those decisions, with a bootstrap 95% interval over `eval`
posters (from the first fold assignment; part 1 adds the mean over all assignments). On
`test`, every rule is tuned on the whole of `eval`, as the Trainer would: shown, never
chosen on. The embeddings are those of a finished run (`--run-dir`: its `metadata.db`),
cached by bench/lib.py; the head's settings are pinned (SETTINGS), as the tables in
BENCHMARKS.md were made. Writes markdown tables to stdout and the results as JSON
(--output); BENCHMARKS.md is left alone.
"""
import argparse
import json
import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from bench import stats  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top

# The settings the tables in BENCHMARKS.md were made with (the defaults of 27e8531 and
# 156fbaa), pinned rather than read from the live defaults.
PINNED = dict(model_name='efficientnet_lite0', epochs=60, learning_rate=1e-3,
              head_hidden_units=512, head_dropout=0.5, head_early_stopping_patience=8,
              head_members=1, min_genres=1, max_genres=3, oversample_max_copies=4,
              oversample_max_growth=3.0)
SETTINGS = lib.pinned(**PINNED)
RULE = SETTINGS.trainer
REFERENCE = 'one global threshold (d16bcaf\'s rule)'
BASE_RATE = "'base_rate': level + tilt toward the base rate, slots by margin"
SPLITS = ('eval', 'test')
# Decisions [N, G] from scores [N, G].
Decider = Callable[[np.ndarray], np.ndarray]
# (labels, scores) of the posters a rule is tuned on -> the rule.
Tuner = Callable[[np.ndarray, np.ndarray], Decider]


def _parse_args() -> argparse.Namespace:
  parser = lib.seeded_parser(__doc__, seeds=[0, 1, 2])
  parser.add_argument('--shrinkage', type=float, nargs='+', default=[10.0, 30.0],
                      help='Candidates k of the shrunk thresholds.')
  parser.add_argument('--train-folds', type=int, default=5,
                      help='Folds of train posters for the out-of-fold scores.')
  parser.add_argument('--eval-folds', type=int, default=5, help='Folds of the cross-fit.')
  parser.add_argument('--fold-assignments', type=int, default=5,
                      help='Random assignments of eval posters to folds.')
  parser.add_argument('--skip-training-choices', action='store_true',
                      help='Part 1 only (no head per training choice).')
  parser.add_argument('--skip-rules', action='store_true',
                      help='Parts 1 and 2 skipped (with --members: Part 3 only).')
  parser.add_argument('--members', type=int, nargs='*', default=[],
                      help='Part 3: the numbers of averaged heads to compare, e.g. 1 3 5 '
                           '(the largest is trained per seed); none: skip it.')
  parser.add_argument('--pulls', type=float, nargs='*', default=[0.25, 0.5, 0.75, 1.0],
                      help="Part 3: the 'margin' policy's pulls to compare, each tuned on "
                           'eval with out-of-fold train scores; none: leave it out.')
  parser.add_argument('--output', default='/tmp/decision_rules_results.json')
  return parser.parse_args()


# --- The rules -------------------------------------------------------------------------------


def tuned(policy_name: str) -> Tuner:
  """The Trainer's tuning for `policy_name` (models/thresholds.py), under its bounds."""
  return lambda labels, scores: thresholds.tune_rule(
      labels, scores, policy_name, RULE.min_genres, RULE.max_genres).apply


def _rule(cuts, rank_by: str = 'score') -> Decider:
  return thresholds.DecisionRule(list(cuts), RULE.min_genres, RULE.max_genres, rank_by).apply


per_genre = tuned('per_genre')


def global_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
  return thresholds.tune_global_threshold(labels, scores, min_genres=RULE.min_genres,
                                          max_genres=RULE.max_genres)


def shrunk(k: float) -> Tuner:
  def tune(labels: np.ndarray, scores: np.ndarray) -> Decider:
    own = thresholds.tune_per_genre_thresholds(labels, scores, min_genres=RULE.min_genres,
                                               max_genres=RULE.max_genres)
    return _rule(thresholds.shrink(own, global_threshold(labels, scores), labels.sum(axis=0),
                                   k))
  return tune


def with_out_of_fold(train_labels: np.ndarray, train_scores: np.ndarray,
                     tuner: Tuner = per_genre) -> Tuner:
  """`tuner` on the tuning posters with the train posters' out-of-fold scores before them."""
  return lambda labels, scores: tuner(np.concatenate([train_labels, labels]),
                                      np.concatenate([train_scores, scores]))


def margin_slots(k: float) -> Tuner:
  return lambda labels, scores: _rule(thresholds.margin_thresholds(
      labels, scores, k, RULE.min_genres, RULE.max_genres), 'margin')


def margin_pulled(pull: float) -> Tuner:
  """The 'margin' policy with its thresholds `pull` of the way from 'base_rate''s."""
  return lambda labels, scores: _rule(thresholds.tune_margin_thresholds(
      labels, scores, RULE.min_genres, RULE.max_genres, pull=pull), 'margin')


def platt(labels: np.ndarray, scores: np.ndarray, l2: float = 1.0,
          steps: int = 25) -> Callable[[np.ndarray], np.ndarray]:
  """Per genre, sigmoid(a logit(score) + b) fitted to `labels` by Newton's method, with an L2
  pull of (a, b) toward the identity (1, 0): a genre with few positives stays near its raw
  scores. Returns the calibration."""
  x, y = thresholds.clipped_logit(scores), labels.astype(np.float64)
  a, b = np.ones(x.shape[1]), np.zeros(x.shape[1])
  for _ in range(steps):
    p = 1.0 / (1.0 + np.exp(-(a * x + b)))
    w = p * (1.0 - p)
    grad_a, grad_b = ((p - y) * x).sum(0) + l2 * (a - 1.0), (p - y).sum(0) + l2 * b
    haa, hab, hbb = (w * x * x).sum(0) + l2, (w * x).sum(0), w.sum(0) + l2
    det = haa * hbb - hab * hab
    a, b = a - (hbb * grad_a - hab * grad_b) / det, b - (haa * grad_b - hab * grad_a) / det
  return lambda s: 1.0 / (1.0 + np.exp(-(a * thresholds.clipped_logit(s) + b)))


def calibrated(labels: np.ndarray, scores: np.ndarray) -> Decider:
  calibration = platt(labels, scores)
  decide_calibrated = tuned('global')(labels, calibration(scores))
  return lambda judged: decide_calibrated(calibration(judged))


def decide(tuner: Tuner, labels: np.ndarray, scores: np.ndarray,
           judged: np.ndarray) -> np.ndarray:
  """Decisions on `judged` scores by the rule `tuner` makes of (labels, scores)."""
  return tuner(labels, scores)(judged)


def cross_fitted(tuner: Tuner, labels: np.ndarray, scores: np.ndarray,
                 folds: np.ndarray) -> np.ndarray:
  """Each fold's decisions by the rule tuned on the other folds."""
  predicted = np.zeros(labels.shape, dtype=np.int64)
  for fold in np.unique(folds):
    rest = folds != fold
    predicted[~rest] = decide(tuner, labels[rest], scores[rest], scores[~rest])
  return predicted


# --- Heads -----------------------------------------------------------------------------------


# Part 2's training choices: the knobs each changes from SETTINGS.
DEFAULT_TRAINING = 'configured default'
TRAINING_CHOICES = {
    DEFAULT_TRAINING: {},
    'no oversampler': {'oversample_max_copies': 1},
    'oversampler stronger (8 copies, growth 5)': {'oversample_max_copies': 8,
                                                  'oversample_max_growth': 5.0},
}


def training_settings(choice: Dict[str, object]):
  """SETTINGS with one training choice's knobs changed."""
  return lib.pinned(**{**PINNED, **choice})


def out_of_fold_scores(arrays: Dict[str, np.ndarray], folds: int, seed: int) -> np.ndarray:
  """Train posters' scores, each from a head trained on the other folds' posters."""
  train, labels = arrays['train'], arrays['train_labels']
  assignment = np.random.default_rng(seed).integers(0, folds, len(labels))
  scores = np.zeros(labels.shape, dtype=np.float32)
  for fold in range(folds):
    tf.keras.utils.set_random_seed(seed * 100 + fold)
    rest = assignment != fold
    head = lib.train_head(train[rest], labels[rest], arrays['eval'], arrays['eval_labels'],
                          SETTINGS)
    scores[~rest] = head(train[~rest], training=False).numpy()
  return scores


# Part 3: the rules each number of averaged heads is judged with.
MEMBER_RULES = {
    REFERENCE: tuned('global'),
    "'base_rate' for macro-F1 alone": lambda labels, scores: _rule(
        thresholds.tune_base_rate_thresholds(
            labels, scores, RULE.min_genres, RULE.max_genres,
            objective=metrics.macro_f1), 'margin'),
    "'base_rate' for macro-F1 + micro-F1": tuned('base_rate'),
}


def member_scores(arrays: Dict[str, np.ndarray], seed: int,
                  members: int) -> List[Dict[str, np.ndarray]]:
  """`members` heads of one seed, each its own initialisation."""
  return [lib.head_scores(arrays, seed * 100 + member, SETTINGS) for member in range(members)]


def run_members(arrays: Dict[str, np.ndarray], args: argparse.Namespace,
                seed: int) -> Dict[str, Dict[str, float]]:
  """Part 3 for one seed: per number of heads and rule, the cross-fitted `eval`
  figures (mean over fold assignments) and `test`'s."""
  labels = {split: arrays[f'{split}_labels'] for split in SPLITS}
  assignments = fold_assignments(seed, len(labels['eval']), args.eval_folds,
                                 args.fold_assignments)
  results = {}
  heads = member_scores(arrays, seed, max(args.members))
  rules = dict(MEMBER_RULES)
  if args.pulls:
    train_scores = out_of_fold_scores(arrays, args.train_folds, seed)
    rules.update({f"'margin', pull {pull:g}, on eval + out-of-fold train scores":
                  with_out_of_fold(arrays['train_labels'], train_scores, margin_pulled(pull))
                  for pull in args.pulls})
  for members in args.members:
    scores = {split: np.mean([head[split] for head in heads[:members]], axis=0)
              for split in SPLITS}
    for rule, tuner in rules.items():
      results[f'{members} | {rule}'], _ = cross_fitted_figures(tuner, labels, scores,
                                                               assignments)
  print(f'seed {seed}: heads', flush=True)
  return results


# --- Judging ---------------------------------------------------------------------------------


def genres_predicted(labels: np.ndarray, predicted: np.ndarray) -> int:
  """Genres with at least MIN_SUPPORT positives that the rule names for at least one poster."""
  return int((predicted[:, metrics.supported_genres(labels, stats.MIN_SUPPORT)].sum(0)
              > 0).sum())


def judge(labels: np.ndarray, runs: Dict[str, tuple], reference: str, resamples: int,
          seed: int) -> Dict[str, Dict]:
  """Each run's (scores, predicted) headline metrics with bootstrap intervals, its paired gain
  over `reference`, samples-F1 and the genres it predicts."""
  intervals = stats.bootstrap(labels, runs, reference=reference, resamples=resamples,
                              seed=seed)
  return {name: {**{metric: [i.value, i.low, i.high] for metric, i in intervals[name].items()},
                 'samples_f1': stats.samples_f1(labels, predicted),
                 'genres_predicted': genres_predicted(labels, predicted)}
          for name, (_, predicted) in runs.items()}


def point(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> Dict[str, float]:
  """Headline metrics without intervals (for `test`, which chooses nothing)."""
  return {'macro_f1': metrics.macro_f1(labels, predicted, stats.MIN_SUPPORT),
          'micro_f1': metrics.micro_f1(labels, predicted),
          'samples_f1': stats.samples_f1(labels, predicted),
          'map': stats.mean_average_precision(labels, scores),
          'genres_predicted': genres_predicted(labels, predicted)}


def fold_assignments(seed: int, posters: int, folds: int, count: int) -> List[np.ndarray]:
  """`count` assignments of `posters` to `folds` folds, drawn from `seed`."""
  rng = np.random.default_rng(seed)
  return [rng.integers(0, folds, posters) for _ in range(count)]


def cross_fitted_figures(tuner: Tuner, labels: Dict[str, np.ndarray],
                         scores: Dict[str, np.ndarray], assignments: List[np.ndarray]
                         ) -> Tuple[Dict[str, object], np.ndarray]:
  """A rule's figures on scores {'eval', 'test'}: on `eval` cross-fitted, means over the fold
  `assignments`; on `test` tuned on the whole of `eval`, as the Trainer would. Also the first
  assignment's `eval` decisions, for paired intervals."""
  decisions = [cross_fitted(tuner, labels['eval'], scores['eval'], folds)
               for folds in assignments]
  return {'eval_map': stats.mean_average_precision(labels['eval'], scores['eval']),
          'eval_macro_f1': float(np.mean([metrics.macro_f1(labels['eval'], d, stats.MIN_SUPPORT)
                                          for d in decisions])),
          'eval_micro_f1': float(np.mean([metrics.micro_f1(labels['eval'], d)
                                          for d in decisions])),
          'test': point(labels['test'], scores['test'],
                        decide(tuner, labels['eval'], scores['eval'], scores['test']))
          }, decisions[0]


# The columns of `figure_cells`, for a table's header.
FIGURE_COLUMNS = ('eval mAP', 'eval macro-F1', 'eval micro-F1', 'test mAP', 'test macro-F1',
                  'test micro-F1')


def figure_cells(seeds: List[Dict[str, object]]) -> str:
  """Markdown cells (FIGURE_COLUMNS) of `cross_fitted_figures` results: means over seeds."""
  def mean(metric: str, split: str = '') -> float:
    return float(np.mean([(seed[split] if split else seed)[metric] for seed in seeds]))
  return ' | '.join(f'{value:.3f}' for value in (
      mean('eval_map'), mean('eval_macro_f1'), mean('eval_micro_f1'), mean('map', 'test'),
      mean('macro_f1', 'test'), mean('micro_f1', 'test')))


def run_rules(arrays: Dict[str, np.ndarray], scores: Dict[str, np.ndarray],
              tuners: Dict[str, Tuner], args: argparse.Namespace, seed: int) -> Dict[str, Dict]:
  """Part 1 for one seed's default head."""
  labels = {split: arrays[f'{split}_labels'] for split in SPLITS}
  tuners = {**tuners, 'per-genre on eval + out-of-fold train scores': with_out_of_fold(
      arrays['train_labels'], out_of_fold_scores(arrays, args.train_folds, seed))}
  eval_decisions = [{name: cross_fitted(tuner, labels['eval'], scores['eval'], folds)
                     for name, tuner in tuners.items()}
                    for folds in fold_assignments(seed, len(labels['eval']), args.eval_folds,
                                                  args.fold_assignments)]
  mean_gain = {name: float(np.mean([
      metrics.macro_f1(labels['eval'], d[name], stats.MIN_SUPPORT)
      - metrics.macro_f1(labels['eval'], d[REFERENCE], stats.MIN_SUPPORT)
      for d in eval_decisions])) for name in tuners}
  return {'eval': judge(labels['eval'], {name: (scores['eval'], d)
                                         for name, d in eval_decisions[0].items()},
                        REFERENCE, args.bootstrap, seed),
          'eval_mean_macro_f1_gain': mean_gain,
          'test': {name: point(labels['test'], scores['test'],
                               decide(tuner, labels['eval'], scores['eval'], scores['test']))
                   for name, tuner in tuners.items()}}


def run_training_choices(arrays: Dict[str, np.ndarray], default: Dict[str, np.ndarray],
                         args: argparse.Namespace, seed: int) -> Dict[str, Dict]:
  """Part 2 for one seed: every training choice's head under the reference and base-rate
  rules, paired against the default head under the reference rule."""
  labels = {split: arrays[f'{split}_labels'] for split in SPLITS}
  folds = fold_assignments(seed, len(labels['eval']), args.eval_folds, 1)[0]
  rules = {REFERENCE: tuned('global'), BASE_RATE: tuned('base_rate')}
  runs, test = {}, {}
  for choice, knobs in TRAINING_CHOICES.items():
    scores = default if not knobs else lib.head_scores(arrays, seed, training_settings(knobs))
    for rule, tuner in rules.items():
      runs[f'{choice} | {rule}'] = (scores['eval'], cross_fitted(tuner, labels['eval'],
                                                                 scores['eval'], folds))
      test[f'{choice} | {rule}'] = point(labels['test'], scores['test'], decide(
          tuner, labels['eval'], scores['eval'], scores['test']))
    print(f'seed {seed}: {choice}', flush=True)
  reference = f'{DEFAULT_TRAINING} | {REFERENCE}'
  return {'eval': judge(labels['eval'], runs, reference, args.bootstrap, seed), 'test': test}


# --- Rendering -------------------------------------------------------------------------------


def _gain(result: Dict, metric: str, reference: bool) -> str:
  return '–' if reference else lib.gain_cell(*result[f'{metric}_gain'])


def render_markdown(results: Dict) -> str:
  lines = [f"Part 1, decision rules on one head's scores (`{results['command']}`, "
           f"{results['machine']}). `eval`: cross-fitted over {results['eval_folds']} folds; "
           f'gains paired against "{REFERENCE}" with bootstrap 95% intervals over the '
           f"split's posters; the mean macro-F1 gain over {results['fold_assignments']} fold "
           'assignments beside. Genres: how many of those with at least '
           f'{stats.MIN_SUPPORT} positives are predicted for at least one poster. `test`: '
           'every rule tuned on the whole of `eval`. Choose on `eval`.', '',
           '| seed | rule | eval macro-F1 | eval gain macro-F1 | mean eval gain | '
           'eval micro-F1 | eval gain micro-F1 | eval samples-F1 | eval genres | '
           'test macro-F1 | test micro-F1 | test genres |', '| --- ' * 12 + '|']
  for seed, result in results['rules'].items():
    for name, e in result['eval'].items():
      t, reference = result['test'][name], name == REFERENCE
      mean_gain = result['eval_mean_macro_f1_gain'][name]
      lines.append(
          f"| {seed} | {name} | {e['macro_f1'][0]:.3f} | {_gain(e, 'macro_f1', reference)} | "
          f"{'–' if reference else format(mean_gain, '+.3f')} | {e['micro_f1'][0]:.3f} | "
          f"{_gain(e, 'micro_f1', reference)} | {e['samples_f1']:.3f} | "
          f"{e['genres_predicted']} | {t['macro_f1']:.3f} | {t['micro_f1']:.3f} | "
          f"{t['genres_predicted']} |")
  if results['training_choices']:
    lines += ['', 'Part 2, training choices: one head per choice and seed, judged with both '
              'rules on the cross-fitted `eval` (the first fold assignment); gains paired '
              f'against the same seed\'s configured default head under "{REFERENCE}".', '',
              '| seed | training choice | rule | eval mAP | eval gain mAP | eval macro-F1 | '
              'eval gain macro-F1 | eval micro-F1 | eval gain micro-F1 | eval genres | '
              'test mAP | test macro-F1 | test micro-F1 |', '| --- ' * 13 + '|']
    for seed, result in results['training_choices'].items():
      for name, e in result['eval'].items():
        t, (choice, rule) = result['test'][name], name.split(' | ')
        reference = name == f'{DEFAULT_TRAINING} | {REFERENCE}'
        lines.append(
            f"| {seed} | {choice} | {'base_rate' if rule == BASE_RATE else 'global'} | "
            f"{e['map'][0]:.3f} | {_gain(e, 'map', reference)} | {e['macro_f1'][0]:.3f} | "
            f"{_gain(e, 'macro_f1', reference)} | {e['micro_f1'][0]:.3f} | "
            f"{_gain(e, 'micro_f1', reference)} | {e['genres_predicted']} | "
            f"{t['map']:.3f} | {t['macro_f1']:.3f} | {t['micro_f1']:.3f} |")
  if results['members']:
    lines += ['', 'Part 3, averaged heads: the mean over seeds of the cross-fitted `eval` '
              f"(every fold assignment) and of `test`; `{results['command']}`.", '',
              f"| heads | rule | {' | '.join(FIGURE_COLUMNS)} | test genres |",
              '| --- ' * 9 + '|']
    per_seed = list(results['members'].values())
    for name in per_seed[0]:
      rows = [result[name] for result in per_seed]
      genres = np.mean([row['test']['genres_predicted'] for row in rows])
      lines.append(f'| {name} | {figure_cells(rows)} | {genres:.1f} |')
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  arrays, _ = lib.embeddings(args.run_dir, RULE.preset.backbone)
  tuners: Dict[str, Tuner] = {
      REFERENCE: tuned('global'),
      'per-genre thresholds, slots by score': per_genre,
      **{f'per-genre shrunk to the global, k = {k:g}, slots by score': shrunk(k)
         for k in args.shrinkage},
      **{f'per-genre (shrunk, k = {k:g}), slots by margin': margin_slots(k)
         for k in args.shrinkage},
      'Platt-calibrated per genre, one global probability threshold': calibrated,
      BASE_RATE: tuned('base_rate')}
  rules: Dict[int, Dict] = {}
  choices: Dict[int, Dict] = {}
  members: Dict[int, Dict] = {}
  for seed in args.seeds:
    if args.members:
      members[seed] = run_members(arrays, args, seed)
      if args.skip_rules:
        continue
    scores = lib.head_scores(arrays, seed, SETTINGS)
    rules[seed] = run_rules(arrays, scores, tuners, args, seed)
    print(json.dumps({seed: rules[seed]['eval_mean_macro_f1_gain']}), flush=True)
    if not args.skip_training_choices:
      choices[seed] = run_training_choices(arrays, scores, args, seed)
  results = {**lib.provenance(), 'run_dir': args.run_dir, 'eval_folds': args.eval_folds,
             'fold_assignments': args.fold_assignments, 'bootstrap_resamples': args.bootstrap,
             'rules': rules, 'training_choices': choices, 'members': members}
  lib.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
