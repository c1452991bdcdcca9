"""The decision rule: from per-genre scores to predicted genres, tuned on `eval`, never `test`.

Rule: a genre is predicted when its score reaches that genre's threshold; every poster gets
at least `min_genres` genres (its top-scoring ones, since every poster has a genre) and at
most `max_genres` (optional). Per-genre thresholds maximize each genre's F1 on `eval`;
genres with too few eval positives to tune on fall back to the one global threshold that
maximizes macro-F1. Plain numpy: the exported SavedModel implements the same rule in
TensorFlow (models/export.py) and a test checks they agree.
"""
import dataclasses
from typing import List, Optional, Sequence

import numpy as np

from models import metrics

DEFAULT_CANDIDATES = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))
# Fewer eval positives than this and a genre's own F1-optimal threshold is noise.
MIN_POSITIVES_TO_TUNE = 8


@dataclasses.dataclass(frozen=True)
class DecisionRule:
  thresholds: List[float]
  min_genres: int = 1
  max_genres: Optional[int] = None

  def apply(self, scores: np.ndarray) -> np.ndarray:
    return apply_rule(scores, self.thresholds, self.min_genres, self.max_genres)


def apply_rule(scores: np.ndarray, thresholds: Sequence[float], min_genres: int = 1,
               max_genres: Optional[int] = None) -> np.ndarray:
  """0/1 predictions [N, G] from scores [N, G] under the rule described above."""
  scores = np.asarray(scores, dtype=np.float64)
  predicted = scores >= np.asarray(thresholds, dtype=np.float64)[np.newaxis, :]
  # Rank 0 = the poster's highest score; ties broken by genre order, as tf.math.top_k does.
  rank = np.argsort(np.argsort(-scores, axis=1, kind='stable'), axis=1, kind='stable')
  if min_genres:
    predicted |= rank < min_genres
  if max_genres:
    predicted &= rank < max_genres
  return predicted.astype(np.int64)


def tune_global_threshold(labels: np.ndarray, scores: np.ndarray,
                          candidates: Sequence[float] = DEFAULT_CANDIDATES) -> float:
  """The one threshold, shared by every genre, that maximizes macro-F1 on these data.

  Ties go to the higher threshold (fewer false positives).
  """
  best_threshold, best_f1 = float(candidates[0]), -1.0
  for threshold in candidates:
    f1 = metrics.macro_f1(labels, (scores >= threshold).astype(np.int64))
    if f1 >= best_f1:
      best_threshold, best_f1 = float(threshold), f1
  return best_threshold


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
  """The threshold maximizing one genre's F1, placed midway to the next lower score.

  Exhaustive over the distinct scores (a cut between two runs of equal scores), so it is
  exact, not limited to a grid. Requires at least one positive.
  """
  positives = float(labels.sum())
  order = np.argsort(-scores, kind='mergesort')
  sorted_scores = scores[order]
  cuts = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
  true_positives = np.cumsum(labels[order])[cuts]
  f1 = 2.0 * true_positives / (cuts + 1 + positives)
  best = int(np.argmax(f1))
  cut = cuts[best]
  if cut + 1 < len(sorted_scores):
    return float((sorted_scores[cut] + sorted_scores[cut + 1]) / 2.0)
  return float(sorted_scores[cut])


def tune_per_genre_thresholds(labels: np.ndarray, scores: np.ndarray,
                              min_positives: int = MIN_POSITIVES_TO_TUNE) -> List[float]:
  """Each genre's F1-optimal threshold; the global macro-F1 one where positives are few."""
  labels = np.asarray(labels, dtype=np.int64)
  scores = np.asarray(scores, dtype=np.float64)
  fallback = tune_global_threshold(labels, scores)
  return [best_f1_threshold(labels[:, g], scores[:, g])
          if labels[:, g].sum() >= min_positives else fallback
          for g in range(labels.shape[1])]


def tune_rule(labels: np.ndarray, scores: np.ndarray, policy: str = 'per_genre',
              min_genres: int = 1, max_genres: Optional[int] = None) -> DecisionRule:
  """The decision rule for `policy` ('per_genre' or 'global'), tuned on these (eval) data."""
  if policy == 'per_genre':
    thresholds = tune_per_genre_thresholds(labels, scores)
  elif policy == 'global':
    thresholds = [tune_global_threshold(labels, scores)] * labels.shape[1]
  else:
    raise ValueError(f"Unknown threshold policy {policy!r}: use 'per_genre' or 'global'.")
  return DecisionRule(thresholds=thresholds, min_genres=min_genres, max_genres=max_genres)
