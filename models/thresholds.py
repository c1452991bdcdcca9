"""The decision rule: from per-genre scores to predicted genres, tuned on `eval`, never `test`.

Rule: a genre is predicted when its score reaches that genre's threshold; every poster gets
at least `min_genres` genres (its top-scoring ones, since every poster has a genre) and at
most `max_genres` (optional). Per-genre thresholds maximize each genre's F1 on `eval` with the
minimum and maximum in place (a threshold tuned without the cap is tuned for decisions the
model never makes); genres with too few eval positives to tune on fall back to the one global
threshold that maximizes macro-F1 under the same rule. Plain numpy: the exported SavedModel
implements the same rule in TensorFlow (models/export.py) and a test checks they agree.
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


def genre_ranks(scores: np.ndarray) -> np.ndarray:
  """Each genre's rank within its poster [N, G]: 0 = the poster's highest score.

  Ties are broken by genre order, as tf.math.top_k does.
  """
  return np.argsort(np.argsort(-scores, axis=1, kind='stable'), axis=1, kind='stable')


def apply_rule(scores: np.ndarray, thresholds: Sequence[float], min_genres: int = 1,
               max_genres: Optional[int] = None) -> np.ndarray:
  """0/1 predictions [N, G] from scores [N, G] under the rule described above."""
  scores = np.asarray(scores, dtype=np.float64)
  predicted = scores >= np.asarray(thresholds, dtype=np.float64)[np.newaxis, :]
  forced_on, forced_off = forced_decisions(genre_ranks(scores), min_genres, max_genres)
  return ((predicted | forced_on) & ~forced_off).astype(np.int64)


def forced_decisions(ranks: np.ndarray, min_genres: int, max_genres: Optional[int]):
  """(predicted whatever the threshold, never predicted whatever the threshold) [N, G]."""
  forced_off = ranks >= max_genres if max_genres else np.zeros(ranks.shape, dtype=bool)
  forced_on = (ranks < min_genres) & ~forced_off
  return forced_on, forced_off


def tune_global_threshold(labels: np.ndarray, scores: np.ndarray,
                          candidates: Sequence[float] = DEFAULT_CANDIDATES,
                          min_genres: int = 0, max_genres: Optional[int] = None) -> float:
  """The one threshold, shared by every genre, that maximizes macro-F1 under the rule.

  Ties go to the higher threshold (fewer false positives).
  """
  best_threshold, best_f1 = float(candidates[0]), -1.0
  for threshold in candidates:
    predicted = apply_rule(scores, [threshold] * scores.shape[1], min_genres, max_genres)
    f1 = metrics.macro_f1(labels, predicted)
    if f1 >= best_f1:
      best_threshold, best_f1 = float(threshold), f1
  return best_threshold


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray,
                      forced_on: Optional[np.ndarray] = None,
                      forced_off: Optional[np.ndarray] = None) -> float:
  """The threshold maximizing one genre's F1, placed midway to the next lower score.

  `forced_on` / `forced_off` (bool [N]) mark the posters that the rule's minimum / maximum
  number of genres predicts / leaves out whatever the threshold: they count in the F1, and
  the threshold decides only the others. Exhaustive over the distinct scores of those (a
  cut between two runs of equal scores, or above them all), so it is exact, not limited to
  a grid. Requires at least one positive.
  """
  labels = np.asarray(labels, dtype=np.float64)
  scores = np.asarray(scores, dtype=np.float64)
  forced_on = np.zeros(len(scores), bool) if forced_on is None else forced_on
  forced_off = np.zeros(len(scores), bool) if forced_off is None else forced_off
  free = ~forced_on & ~forced_off
  positives = float(labels.sum())
  forced_true_positives = float(labels[forced_on].sum())
  forced_predicted = float(forced_on.sum())
  order = np.argsort(-scores[free], kind='mergesort')
  sorted_scores = scores[free][order]
  # Predicting none of the free posters: a threshold just above the highest free score.
  best_threshold = float(np.nextafter(np.float32(sorted_scores[0] if len(sorted_scores)
                                                 else scores.max()), np.float32(np.inf)))
  best_f1 = 2.0 * forced_true_positives / (forced_predicted + positives)
  if not len(sorted_scores):
    return best_threshold
  cuts = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
  true_positives = forced_true_positives + np.cumsum(labels[free][order])[cuts]
  f1 = 2.0 * true_positives / (forced_predicted + cuts + 1 + positives)
  best = int(np.argmax(f1))
  # Ties go to the higher threshold (fewer false positives).
  if f1[best] <= best_f1:
    return best_threshold
  cut = cuts[best]
  if cut + 1 < len(sorted_scores):
    return float((sorted_scores[cut] + sorted_scores[cut + 1]) / 2.0)
  return float(sorted_scores[cut])


def tune_per_genre_thresholds(labels: np.ndarray, scores: np.ndarray,
                              min_positives: int = MIN_POSITIVES_TO_TUNE,
                              min_genres: int = 0,
                              max_genres: Optional[int] = None) -> List[float]:
  """Each genre's F1-optimal threshold under the rule; the global one where positives are few.

  A genre's rank within a poster does not depend on any threshold, so under the rule each
  genre's decisions depend on its own threshold only: tuning each one for its F1 with the
  minimum and maximum number of genres in place is exact, not a coordinate search.
  """
  labels = np.asarray(labels, dtype=np.int64)
  scores = np.asarray(scores, dtype=np.float64)
  forced_on, forced_off = forced_decisions(genre_ranks(scores), min_genres, max_genres)
  fallback = tune_global_threshold(labels, scores, min_genres=min_genres,
                                   max_genres=max_genres)
  return [best_f1_threshold(labels[:, g], scores[:, g], forced_on[:, g], forced_off[:, g])
          if labels[:, g].sum() >= min_positives else fallback
          for g in range(labels.shape[1])]


def tune_rule(labels: np.ndarray, scores: np.ndarray, policy: str = 'per_genre',
              min_genres: int = 1, max_genres: Optional[int] = None) -> DecisionRule:
  """The decision rule for `policy` ('per_genre' or 'global'), tuned on these (eval) data
  with the rule's minimum and maximum number of genres in place."""
  if policy == 'per_genre':
    thresholds = tune_per_genre_thresholds(labels, scores, min_genres=min_genres,
                                           max_genres=max_genres)
  elif policy == 'global':
    thresholds = [tune_global_threshold(labels, scores, min_genres=min_genres,
                                        max_genres=max_genres)] * labels.shape[1]
  else:
    raise ValueError(f"Unknown threshold policy {policy!r}: use 'per_genre' or 'global'.")
  return DecisionRule(thresholds=thresholds, min_genres=min_genres, max_genres=max_genres)
