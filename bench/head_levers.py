"""Cheap levers on the frozen EfficientNet-Lite0 features: are any of them worth keeping?

    nice -n 15 .venv/bin/python bench/head_levers.py \
        [--metadata-path /tmp/default_run/out/metadata/poster-genres/metadata.db] [--seeds 0 1 2]

Research for "Quality and speed". Everything here trains only genre heads, on features that
one backbone pass per poster gives, so every lever costs seconds to try and nothing at
serving time (or, for pooling, nothing beyond the same backbone pass):
  - mirror views: with `--flip train` (the default when these results were recorded; they
    made it `none`) the Trainer trains on every poster and its mirror image; without them
    its embedding costs half as much;
  - richer pooling: global average and max pooling of the 1280-channel head conv, of the
    last block's 320 channels and of the 192 channels entering it, concatenated and
    standardized on train, instead of the head conv's average alone;
  - head ensembles: the mean score of the heads trained with every seed;
  - the cap's ranking: with at most 3 genres per poster, rank a poster's genres by how far
    each score clears its genre's threshold (logit(score) - a * logit(threshold)) rather than
    by the raw score, the thresholds re-tuned under that ranking.
The features come from bench/top_block.py's cache (the activations entering the last block,
and the exact frozen embedding; made once per run, reused), so the baseline here is exactly
bench/top_block.py's: the default head on the frozen embedding, oversampled and mirrored as
the Trainer trains it. Decision rules are tuned on `eval` (per-genre thresholds, 1 to 3
genres); each candidate's gain over the same seed's baseline comes with a paired bootstrap
95% interval on `eval` (where a change is chosen) and on `test` (reported, never chosen on).
Writes a markdown table to stdout and the results as JSON (--output); BENCHMARKS.md is left
alone.
"""
import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, Optional, Tuple

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
from models import efficientnet_lite  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top

SPLITS = ('eval', 'test')
VIEWS = ('train', 'train_mirrored', 'eval', 'test')
# The last MBConv block's input (cached by bench/top_block.py) and the layers pooled above it.
BOUNDARY = 'block14_add'
LAST_BLOCK = 'block15_project_bn'
HEAD_CONV = 'head_relu6'
BASELINE = 'baseline: average-pooled head conv, mirror views, one head'
# Scores on eval and test of one candidate: {'eval': [N, G], 'test': [N, G]}.
Scores = Dict[str, np.ndarray]


def _parse_args() -> argparse.Namespace:
  parser = top_block.seeded_parser(__doc__)
  parser.add_argument('--margin-weights', type=float, nargs='+', default=[0.5, 1.0],
                      help="Candidates 'rank by margin': the weight a of logit(threshold).")
  parser.add_argument('--output', default='/tmp/head_levers_results.json')
  return parser.parse_args()


# --- Features --------------------------------------------------------------------------------


def pooled_features(backbone: tf.keras.Model,
                    arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
  """Per view: average and max pooling of the head conv, of the last block's output and of
  the activations entering it, concatenated ([N, 2 x (1280 + 320 + 192)], the head conv's
  average first), computed by the ImageNet top on the cached activations."""
  _, top = top_block.split_backbone(backbone, BOUNDARY)
  # The top calls the backbone's own layers again: their latest outputs are the top's.
  inner = tf.keras.Model(top.input, [top.get_layer(HEAD_CONV).get_output_at(-1),
                                     top.get_layer(LAST_BLOCK).get_output_at(-1)])

  @tf.function(reduce_retracing=True)
  def pool(activations):
    activations = tf.cast(activations, tf.float32)
    head_conv, last_block = inner(activations, training=False)
    return tf.concat([op(x, [1, 2]) for x in (head_conv, last_block, activations)
                      for op in (tf.reduce_mean, tf.reduce_max)], axis=1)

  return {view: np.concatenate([pool(arrays[f'{view}_{BOUNDARY}'][i:i + 256]).numpy()
                                for i in range(0, len(arrays[f'{view}_{BOUNDARY}']), 256)])
          for view in VIEWS}


def standardized(features: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
  """Every column to zero mean and unit variance on train (original views)."""
  mean, std = features['train'].mean(axis=0), features['train'].std(axis=0) + 1e-6
  return {view: (values - mean) / std for view, values in features.items()}


# --- Heads and rules -------------------------------------------------------------------------


def train_head(features: Dict[str, Optional[np.ndarray]], labels: Dict[str, np.ndarray],
               seed: int) -> Scores:
  """bench/top_block.py's baseline recipe on these features; `features['train_mirrored']`
  None: without mirror views."""
  tf.keras.utils.set_random_seed(seed)
  head = top_block.train_default_head(features['train'], features['train_mirrored'],
                                      labels['train'], features['eval'], labels['eval'])
  return {split: head(features[split], training=False).numpy() for split in SPLITS}


def logit(p: np.ndarray) -> np.ndarray:
  p = np.clip(p, 1e-6, 1 - 1e-6)
  return np.log(p / (1 - p))


def margin_rule(eval_labels: np.ndarray, eval_scores: np.ndarray, weight: float,
                rounds: int = 3) -> Callable[[np.ndarray], np.ndarray]:
  """Decisions with the cap applied to logit(score) - weight * logit(threshold): per-genre
  thresholds first tuned under the Trainer's bounds, then re-tuned `rounds` times under that
  ranking."""
  trainer = top_block.DEFAULTS.trainer
  tuned = np.array(thresholds.tune_rule(eval_labels, eval_scores, 'per_genre',
                                        trainer.min_genres, trainer.max_genres).thresholds)

  def forced(scores, cuts):
    return thresholds.forced_decisions(
        thresholds.genre_ranks(logit(scores) - weight * logit(cuts)), trainer.min_genres,
        trainer.max_genres)

  for _ in range(rounds):
    forced_on, forced_off = forced(eval_scores, tuned)
    tuned = np.array([
        thresholds.best_f1_threshold(eval_labels[:, g], eval_scores[:, g], forced_on[:, g],
                                     forced_off[:, g])
        if eval_labels[:, g].sum() >= thresholds.MIN_POSITIVES_TO_TUNE else tuned[g]
        for g in range(eval_scores.shape[1])])

  def apply(scores):
    forced_on, forced_off = forced(scores, tuned)
    return (((scores >= tuned) | forced_on) & ~forced_off).astype(np.int64)
  return apply


def default_rule(eval_labels: np.ndarray,
                 eval_scores: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
  return top_block.default_rule(eval_labels, eval_scores).apply


# --- Scoring ---------------------------------------------------------------------------------


def judge(labels: Dict[str, np.ndarray], candidate: Tuple[Scores, Callable],
          baseline: Tuple[Scores, Callable], resamples: int, seed: int) -> Dict[str, Any]:
  """Headline metrics of the candidate on eval and test, and its paired gain over the
  baseline on each (bootstrap 95% interval over that split's posters)."""
  result = {}
  for split in SPLITS:
    runs = {name: (scores[split], rule(scores[split]))
            for name, (scores, rule) in (('candidate', candidate), ('baseline', baseline))}
    intervals = metrics.bootstrap(labels[split], runs, reference='baseline',
                                  resamples=resamples, seed=seed,
                                  min_support=quality.MIN_SUPPORT)['candidate']
    result[split] = {name: interval.value for name, interval in intervals.items()
                     if not name.endswith('_gain')}
    result[f'{split}_gain'] = {name[:-len('_gain')]: [i.value, i.low, i.high]
                               for name, i in intervals.items() if name.endswith('_gain')}
  return result


def render_markdown(results: Dict[str, Any]) -> str:
  lines = [f"Levers on the frozen Lite0 features (`{results['command']}`, "
           f"{results['machine']}). Rules tuned on `eval` (per-genre thresholds, 1 to 3 "
           'genres); gains are paired against the same seed\'s baseline, with bootstrap 95% '
           f"intervals ({results['bootstrap_resamples']} resamples of each split's posters). "
           'Choose on `eval`; `test` beside it.', '',
           '| seed | candidate | eval macro-F1 | eval mAP | eval gain macro-F1 | eval gain mAP | '
           'test macro-F1 | test mAP | test gain macro-F1 | test gain mAP |',
           '| --- ' * 10 + '|']

  for row in results['rows']:
    e, t = row['eval'], row['test']
    gains = ([benchmarks_md.gain_cell(*row['eval_gain'][m])
              for m in ('macro_f1', 'map')]
             if row['name'] != BASELINE else ['–', '–'])
    test_gains = ([benchmarks_md.gain_cell(*row['test_gain'][m])
                   for m in ('macro_f1', 'map')]
                  if row['name'] != BASELINE else ['–', '–'])
    lines.append(f"| {row['seed']} | {row['name']} | {e['macro_f1']:.3f} | {e['map']:.3f} | "
                 f"{gains[0]} | {gains[1]} | {t['macro_f1']:.3f} | {t['map']:.3f} | "
                 f'{test_gains[0]} | {test_gains[1]} |')
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  examples_uri, backbone, arrays = top_block.cached_lite0(args, [BOUNDARY])
  labels = {split: arrays[f'{split}_labels'] for split in ('train', *SPLITS)}
  embedding = {view: arrays[f'{view}_{top_block.EMBEDDING}'] for view in VIEWS}
  pooled = pooled_features(backbone, arrays)
  # The head conv's average pooling on the float16 cache against the exact embedding.
  cache_error = float(np.abs(pooled['eval'][:, :efficientnet_lite.EMBEDDING_SIZE]
                             - embedding['eval']).max())
  pooled = standardized(pooled)
  feature_sets = {
      'without mirror views': {**embedding, 'train_mirrored': None},
      'average + max pooling of the head conv': {v: x[:, :2560] for v, x in pooled.items()},
      'average + max pooling of the head conv, the last block and its input': pooled,
  }
  rows, baselines = [], {}
  for seed in args.seeds:
    base_scores = train_head(embedding, labels, seed)
    base = baselines[seed] = (base_scores, default_rule(labels['eval'], base_scores['eval']))
    rows.append({'seed': seed, 'name': BASELINE,
                 **judge(labels, base, base, args.bootstrap, seed)})
    for name, features in feature_sets.items():
      scores = train_head(features, labels, seed)
      rows.append({'seed': seed, 'name': name, **judge(
          labels, (scores, default_rule(labels['eval'], scores['eval'])), base,
          args.bootstrap, seed)})
    for weight in args.margin_weights:
      rows.append({'seed': seed, 'name': f'rank by margin, a = {weight}', **judge(
          labels, (base_scores, margin_rule(labels['eval'], base_scores['eval'], weight)),
          base, args.bootstrap, seed)})
    print(json.dumps(rows[-1 - len(feature_sets) - len(args.margin_weights):]), flush=True)
  ensemble = {split: np.mean([baselines[s][0][split] for s in args.seeds], axis=0)
              for split in SPLITS}
  for seed in args.seeds:
    rows.append({'seed': seed, 'name': f'ensemble of the {len(args.seeds)} seeds\' heads',
                 **judge(labels, (ensemble, default_rule(labels['eval'], ensemble['eval'])),
                         baselines[seed], args.bootstrap, seed)})
  results = {'command': benchmarks_md.command(), 'machine': benchmarks_md.machine(),
             'examples_uri': examples_uri, 'bootstrap_resamples': args.bootstrap,
             'cache_embedding_max_abs_error': cache_error, 'rows': rows}
  benchmarks_md.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
