"""Trivial baselines that every quality number is reported beside.

Each returns (scores, predicted) for `num_posters` posters, so that it goes through exactly
the metrics a model does:
  - predict nothing: no genre for anyone (the floor of every F1);
  - genre prior: every poster scores each genre's `train` frequency, decided by the same
    eval-tuned rule the models use (so it predicts the frequent genres for everyone);
  - always Drama + Comedy: the two most common genres of the dataset for every poster.
"""
from typing import Dict, Sequence, Tuple

import numpy as np

from models import thresholds

Predictions = Tuple[np.ndarray, np.ndarray]
ALWAYS_GENRES = ('Drama', 'Comedy')


def predict_nothing(num_posters: int, num_genres: int) -> Predictions:
  zeros = np.zeros((num_posters, num_genres))
  return zeros, zeros.astype(np.int64)


def genre_prior(train_labels: np.ndarray, eval_labels: np.ndarray, num_posters: int,
                policy: str = 'per_genre') -> Predictions:
  prior = np.asarray(train_labels, dtype=np.float64).mean(axis=0)
  rule = thresholds.tune_rule(eval_labels, np.tile(prior, (len(eval_labels), 1)), policy)
  scores = np.tile(prior, (num_posters, 1))
  return scores, rule.apply(scores)


def always_genres(genres: Sequence[str], num_posters: int,
                  always: Sequence[str] = ALWAYS_GENRES) -> Predictions:
  missing = sorted(set(always) - set(genres))
  if missing:
    raise ValueError(f'{missing} not in the vocabulary.')
  row = np.array([1 if genre in always else 0 for genre in genres], dtype=np.int64)
  predicted = np.tile(row, (num_posters, 1))
  return predicted.astype(np.float64), predicted


def all_baselines(genres: Sequence[str], train_labels: np.ndarray, eval_labels: np.ndarray,
                  num_posters: int, policy: str = 'per_genre') -> Dict[str, Predictions]:
  return {
      'predict nothing': predict_nothing(num_posters, len(genres)),
      f'genre prior ({policy} thresholds tuned on eval)': genre_prior(
          train_labels, eval_labels, num_posters, policy),
      'always ' + ' + '.join(ALWAYS_GENRES): always_genres(genres, num_posters),
  }
