"""Multi-label quality metrics over 0/1 label matrices [N, G] and scores [N, G].

Plain numpy, used by the Trainer (threshold tuning, its logged eval figures) and the slice
report; the benchmarks' statistics (samples-F1, the headline table, the bootstrap) are
bench/stats.py's, built on these, so every number in the project is computed
the same way. Macro averages run over the genres with at least `min_support` positives in
`labels` (a genre with 1 positive gives an F1 of 0 or 1 and swamps the mean).
"""
import numpy as np


def f1_per_genre(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
  """F1 of each column of 0/1 matrices; 0 where a genre has no positives and no predictions."""
  true_positives = (labels * predicted).sum(axis=0)
  denominator = labels.sum(axis=0) + predicted.sum(axis=0)
  return np.divide(2.0 * true_positives, denominator,
                   out=np.zeros(labels.shape[1]), where=denominator > 0)


def supported_genres(labels: np.ndarray, min_support: int = 1) -> np.ndarray:
  """Boolean mask of the genres with at least `min_support` positives."""
  return labels.sum(axis=0) >= max(min_support, 1)


def macro_f1(labels: np.ndarray, predicted: np.ndarray, min_support: int = 1) -> float:
  """Mean F1 over the genres with at least `min_support` positives in `labels`."""
  mask = supported_genres(labels, min_support)
  if not mask.any():
    return 0.0
  return float(f1_per_genre(labels, predicted)[mask].mean())


def micro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
  """F1 of every poster-genre decision pooled: the frequent genres weigh the most."""
  true_positives = float((labels * predicted).sum())
  denominator = float(labels.sum() + predicted.sum())
  return 2.0 * true_positives / denominator if denominator else 0.0


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
  """Average precision of one genre: sum over recall steps of the precision there.

  Tied scores are one step (as in scikit-learn), so a constant score gives the prevalence.
  """
  positives = float(labels.sum())
  if positives == 0:
    return 0.0
  order = np.argsort(-scores, kind='mergesort')
  sorted_scores, sorted_labels = scores[order], labels[order]
  # Last index of each run of equal scores: the cut points.
  cuts = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
  true_positives = np.cumsum(sorted_labels)[cuts]
  precision = true_positives / (cuts + 1)
  recall_steps = np.diff(np.r_[0.0, true_positives]) / positives
  return float((recall_steps * precision).sum())


def average_precision_per_genre(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
  return np.array([average_precision(labels[:, g], scores[:, g])
                   for g in range(labels.shape[1])])
