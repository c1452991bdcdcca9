"""The push gate's power, per genre: how often it refuses a lost genre and blesses a retrain.

    .venv/bin/python bench/gate_power.py [--run-dir bench_output/efficientnet_lite0]
        [--seeds 0 1 2 3 4 5 6 7 8 9 10 11] [--noise-draws 2000] [--render-only]

On the frozen-backbone embeddings of one finished run (bench/lib.py computes and caches
them), trains the head once per seed, exactly as the Trainer does with the settings the
table was made with (SETTINGS, pinned: the head, the oversampler and the gate's criteria;
the seed is the only randomness in a retrain), and caches each seed's `eval` scores. Then,
with no further training, for every ordered pair of seeds (one served, one the candidate) it
applies the gate's own decisions (components/evaluator/genre_judging.py: which genres are
judged, their chance levels and tolerances) to TFMA's AUC-PR of the scores
(models/pr_auc.py), and measures per genre:
  - noise refused: the share of candidates whose scores for that genre are uniform noise
    (`--noise-draws` per served seed) that the gate refuses on that genre;
  - retrain blessed: the share of seed pairs in which the genre passes both criteria;
  - the drop x sqrt(n) that 95 % of the pairs stay within: the genre_drop_scale a 95 %
    pass rate needs.
Results go into BENCHMARKS.md between the markers below.
"""
import argparse
import itertools
import json
import os
import sys
from typing import Dict, List, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from components.evaluator import eval_config  # pylint: disable=g-import-not-at-top
from components.evaluator import genre_judging  # pylint: disable=g-import-not-at-top
from components.evaluator.gate_config import GateConfig  # pylint: disable=g-import-not-at-top
from models import pr_auc  # pylint: disable=g-import-not-at-top

# The settings the table in BENCHMARKS.md was made with (the defaults of 1ed2492), pinned
# rather than read from the live defaults.
SETTINGS = lib.pinned(
    model_name='efficientnet_lite0', epochs=60, learning_rate=1e-3, head_hidden_units=512,
    head_dropout=0.5, head_early_stopping_patience=8, head_members=1,
    min_genres=1, max_genres=3, oversample_max_copies=4, oversample_max_growth=3.0,
    min_macro_pr_auc=0.10, max_macro_pr_auc_regression=0.03, genre_drop_scale=0.6,
    chance_confidence=0.99, min_eval_positives=20)
BEGIN_MARKER, END_MARKER = lib.markers('gate_power.py')
# Noise candidates are drawn apart from the chance level's own simulation (genre_judging).
NOISE_SEED = 7
SCORES_FILE = 'gate_power_scores.npz'


def _parse_args() -> argparse.Namespace:
  parser = lib.parser(__doc__)
  lib.add_run_dir(parser)
  parser.add_argument('--seeds', type=int, nargs='+', default=list(range(12)))
  parser.add_argument('--noise-draws', type=int, default=2000)
  lib.add_benchmarks(parser)
  parser.add_argument('--render-only', action='store_true',
                      help='Re-render BENCHMARKS.md from <run-dir>/gate_power.json.')
  return parser.parse_args()


def seed_scores(run_dir: str, seeds: Sequence[int]):
  """(eval labels [N, G], {seed: eval scores [N, G]}, genres); each seed trained once, cached
  in the run dir."""
  arrays, genres = lib.embeddings(run_dir, SETTINGS.trainer.preset.backbone)
  path = os.path.join(run_dir, SCORES_FILE)
  cached = dict(np.load(path)) if os.path.exists(path) else {}
  for seed in seeds:
    if f'seed_{seed}' not in cached:
      cached[f'seed_{seed}'] = lib.head_scores(arrays, seed, SETTINGS, splits=['eval'])['eval']
      np.savez(path, **cached)
      print(f'seed {seed}: trained', flush=True)
  return arrays['eval_labels'], {seed: cached[f'seed_{seed}'] for seed in seeds}, genres


def pr_aucs(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
  """TFMA's AUC-PR of every genre (the gate's metric) [G]."""
  return pr_auc.auc_pr(*pr_auc.histograms(labels, scores, eval_config.AUC_PR_THRESHOLDS))


def judge(genres: Sequence[str], positives: np.ndarray, posters: int,
          served: np.ndarray, gate: GateConfig) -> List[genre_judging.Judgement]:
  """The gate's judgements with one seed's model served (the Evaluator's own call)."""
  return genre_judging.judge_for_gate(genres, positives, posters,
                                      dict(zip(genres, served.tolist())), genres, gate)


def measure(labels: np.ndarray, scores: Dict[int, np.ndarray], genres: Sequence[str],
            gate: GateConfig, noise_draws: int) -> Dict[str, object]:
  seeds = sorted(scores)
  if len(seeds) < 2:
    raise ValueError('Retrain pairs need at least two seeds.')
  aps = np.array([pr_aucs(labels, scores[seed]) for seed in seeds])  # [S, G]
  positives = labels.sum(axis=0).astype(int)
  posters = len(labels)
  pairs = list(itertools.permutations(range(len(seeds)), 2))
  per_genre = {}
  judgements = [judge(genres, positives, posters, aps[a], gate) for a in range(len(seeds))]
  for g, genre in enumerate(genres):
    n = int(positives[g])
    noise = (genre_judging.null_auc_pr(n, posters, eval_config.AUC_PR_THRESHOLDS,
                                       draws=noise_draws, seed=NOISE_SEED)
             if n else np.zeros(0))
    judged_by = [a for a in range(len(seeds)) if judgements[a][g].judged]
    noise_refused, retrain_blessed = [], []
    for a in judged_by:
      j = judgements[a][g]
      noise_refused.extend(any(genre_judging.refused(j, value, aps[a, g]).values())
                           for value in noise)
      retrain_blessed.extend(not any(genre_judging.refused(j, aps[b, g], aps[a, g]).values())
                             for served, b in pairs if served == a)
    drops = np.array([aps[a, g] - aps[b, g] for a, b in pairs])
    first = judgements[0][g]
    per_genre[genre] = {
        'eval_positives': n,
        'prevalence': n / posters,
        'pr_auc': aps[:, g].tolist(),
        'chance_level': (genre_judging.chance_level(n, posters, gate.chance_confidence,
                                                    eval_config.AUC_PR_THRESHOLDS)
                         if n else None),
        'tolerance': first.tolerance,
        'noise_pr_auc_mean': float(noise.mean()) if n else None,
        'judged_by_seeds': len(judged_by),
        # Why not, with the served seed that made the genre weakest.
        'reason': judgements[int(np.argmin(aps[:, g]))][g].reason,
        'noise_refused': float(np.mean(noise_refused)) if judged_by else None,
        'retrain_blessed': float(np.mean(retrain_blessed)) if judged_by else None,
        'drop_sqrt_n_95': float(np.quantile(drops, 0.95) * np.sqrt(n)) if n else None,
        'largest_drop': float(drops.max()),
    }
  macro = aps.mean(axis=1)
  macro_drops = np.array([macro[a] - macro[b] for a, b in pairs])
  return {
      'seeds': seeds,
      'posters': posters,
      'noise_draws': noise_draws,
      'gate': {'min_eval_positives': gate.min_eval_positives,
               'genre_drop_scale': gate.genre_drop_scale,
               'chance_confidence': gate.chance_confidence,
               'max_macro_pr_auc_regression': gate.max_macro_pr_auc_regression},
      'macro_pr_auc': macro.tolist(),
      'macro_largest_drop': float(macro_drops.max()),
      'macro_blessed': float(np.mean(macro_drops <= gate.max_macro_pr_auc_regression)),
      'per_genre': per_genre,
  }


def _percent(value) -> str:
  return '–' if value is None else f'{100 * value:.1f} %'


def render_markdown(result: Dict[str, object]) -> str:
  rows = result['per_genre']
  gate = result['gate']
  seeds = len(result['seeds'])
  judged = [g for g, row in rows.items() if row['judged_by_seeds'] == seeds]
  lines = [
      BEGIN_MARKER, '', '## Push-gate power per genre (bench/gate_power.py)', '',
      lib.generated_by(result),
      f"The default head retrained with {seeds} seeds ({result['seeds'][0]}–"
      f"{result['seeds'][-1]}) on the same frozen-backbone embeddings, scored on `eval` "
      f"({result['posters']} posters); every ordered pair of seeds is a served model and a "
      f'retrained candidate ({seeds * (seeds - 1)} pairs). AUC-PR is TFMA\'s at '
      f'{eval_config.AUC_PR_THRESHOLDS} thresholds; the decisions are the gate\'s '
      '(components/evaluator/genre_judging.py) with its defaults: judged at '
      f"≥ {gate['min_eval_positives']} eval positives when the served AUC-PR less the "
      'tolerance is above the chance level; chance level the '
      f"{gate['chance_confidence']} quantile of the AUC-PR of random scores for the genre's "
      f"positives and posters; tolerance {gate['genre_drop_scale']} / sqrt(n). Noise "
      f"refused: {result['noise_draws']} uniform-noise candidates per served seed. The "
      'drop x sqrt(n) at 95 % is the genre_drop_scale a 95 % pass rate of the pairs needs.',
      '',
      f'- Judged with every seed served: {len(judged)} genres '
      f'({", ".join(judged)}); with some: '
      f'{", ".join(g for g, r in rows.items() if 0 < r["judged_by_seeds"] < seeds) or "none"}.',
      f'- Worst judged genre: noise refused '
      f'{_percent(min(r["noise_refused"] for r in rows.values() if r["judged_by_seeds"]))}, '
      f'retrain blessed '
      f'{_percent(min(r["retrain_blessed"] for r in rows.values() if r["judged_by_seeds"]))}; '
      f'the largest drop x sqrt(n) at 95 % among genres with enough positives: '
      f'{max(r["drop_sqrt_n_95"] for r in rows.values() if r["eval_positives"] >= gate["min_eval_positives"]):.3f}.',
      f"- Macro AUC-PR over seeds {min(result['macro_pr_auc']):.4f}–"
      f"{max(result['macro_pr_auc']):.4f}, largest drop {result['macro_largest_drop']:.4f} "
      f"(tolerance {gate['max_macro_pr_auc_regression']}): "
      f"{_percent(result['macro_blessed'])} of pairs pass.",
      '',
      '| genre | eval positives | prevalence | AUC-PR over seeds | noise AUC-PR (mean) | '
      'chance level | tolerance | judged (seeds served) | noise refused | retrain blessed | '
      'drop x sqrt(n) at 95 % | why not judged (with the weakest seed served) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
  for genre, row in rows.items():
    noise = row['noise_pr_auc_mean']
    drop = row['drop_sqrt_n_95']
    level = row['chance_level']
    lines.append(
        f"| {genre} | {row['eval_positives']} | {row['prevalence']:.3f} | "
        f"{min(row['pr_auc']):.3f}–{max(row['pr_auc']):.3f} | "
        f"{'–' if noise is None else f'{noise:.3f}'} | "
        f"{'–' if level is None else f'{level:.3f}'} | "
        f"{row['tolerance']:.3f} | {row['judged_by_seeds']} / {seeds} | "
        f"{_percent(row['noise_refused'])} | {_percent(row['retrain_blessed'])} | "
        f"{'–' if drop is None else f'{drop:.3f}'} | "
        f"{row['reason'] if row['judged_by_seeds'] < seeds else '–'} |")
  return '\n'.join(lines + ['', END_MARKER])


def main() -> None:
  args = _parse_args()
  results_path = os.path.join(args.run_dir, 'gate_power.json')
  if args.render_only:
    with open(results_path) as f:
      result = json.load(f)
  else:
    labels, scores, genres = seed_scores(args.run_dir, args.seeds)
    result = dict(measure(labels, scores, genres, SETTINGS.gate, args.noise_draws),
                  **lib.provenance())
    with open(results_path, 'w') as f:
      json.dump(result, f, indent=2)
  lib.publish(render_markdown(result), args.benchmarks, BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
