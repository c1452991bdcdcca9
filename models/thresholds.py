"""Decision thresholds, tuned on `eval` only, never on `test`.

Plain numpy so that the rule can be tested and reused by benchmarks without TensorFlow.
"""
from typing import Sequence

import numpy as np

DEFAULT_CANDIDATES = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))


def f1_per_genre(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
  """F1 of each column of 0/1 matrices; 0 where a genre has no positives and no predictions."""
  true_positives = (labels * predicted).sum(axis=0)
  denominator = labels.sum(axis=0) + predicted.sum(axis=0)
  return np.divide(2.0 * true_positives, denominator,
                   out=np.zeros(labels.shape[1]), where=denominator > 0)


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
  """Mean F1 over the genres that have at least one positive in `labels`."""
  present = labels.sum(axis=0) > 0
  if not present.any():
    return 0.0
  return float(f1_per_genre(labels, predicted)[present].mean())


def tune_global_threshold(labels: np.ndarray, scores: np.ndarray,
                          candidates: Sequence[float] = DEFAULT_CANDIDATES) -> float:
  """The one threshold, shared by every genre, that maximizes macro-F1 on these data.

  Ties go to the higher threshold (fewer false positives).
  """
  best_threshold, best_f1 = float(candidates[0]), -1.0
  for threshold in candidates:
    f1 = macro_f1(labels, (scores >= threshold).astype(np.int64))
    if f1 >= best_f1:
      best_threshold, best_f1 = float(threshold), f1
  return best_threshold
