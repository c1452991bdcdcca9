"""The benchmarks' statistics: the headline table of a set of predictions and its bootstrap.

Only bench/ and its tests use these; the product's metrics (per-genre F1, macro-F1, average
precision, with which the Trainer tunes its rule and the slice report compares) are
models/metrics.py's, and everything here is built on them, so a benchmark's macro-F1 is the
Trainer's. Conventions:
  - macro averages run over the genres with at least `min_support` positives in `labels`
    (a genre with 1 positive gives an F1 of 0 or 1 and swamps the mean); the benchmarks'
    tables use MIN_SUPPORT;
  - micro-F1 pools every (poster, genre) decision;
  - samples-F1 is the mean over posters of each poster's F1 (0 for a poster with neither
    labels nor predictions; every ingested poster has at least one label).
"""
import dataclasses
from typing import Dict, List, Optional, Sequence

import numpy as np

from models import metrics

# Genres with fewer positives in a split are left out of its macro-F1 and mAP in every table.
MIN_SUPPORT = 5
HEADLINE_METRICS = ('macro_f1', 'micro_f1', 'map')


def samples_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
  """Mean over posters of the F1 between a poster's true and predicted genre sets."""
  true_positives = (labels * predicted).sum(axis=1)
  denominator = labels.sum(axis=1) + predicted.sum(axis=1)
  per_poster = np.divide(2.0 * true_positives, denominator,
                         out=np.zeros(labels.shape[0]), where=denominator > 0)
  return float(per_poster.mean()) if len(per_poster) else 0.0


def mean_average_precision(labels: np.ndarray, scores: np.ndarray,
                           min_support: int = MIN_SUPPORT) -> float:
  """Mean AP over the genres with at least `min_support` positives in `labels`."""
  mask = metrics.supported_genres(labels, min_support)
  if not mask.any():
    return 0.0
  return float(metrics.average_precision_per_genre(labels[:, mask], scores[:, mask]).mean())


@dataclasses.dataclass(frozen=True)
class GenreQuality:
  genre: str
  support: int
  precision: float
  recall: float
  f1: float
  average_precision: float


@dataclasses.dataclass(frozen=True)
class Quality:
  """The headline numbers of one set of predictions, and the per-genre table."""
  macro_f1: float
  micro_f1: float
  samples_f1: float
  mean_average_precision: float
  min_support: int
  genres_averaged: int
  per_genre: List[GenreQuality]

  def headline(self) -> Dict[str, float]:
    return {'macro_f1': self.macro_f1, 'micro_f1': self.micro_f1,
            'samples_f1': self.samples_f1, 'map': self.mean_average_precision}


def evaluate(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray,
             genres: Sequence[str], min_support: int = MIN_SUPPORT) -> Quality:
  """Every headline metric; macro-F1 and mAP over genres with >= `min_support` positives."""
  labels = np.asarray(labels, dtype=np.int64)
  predicted = np.asarray(predicted, dtype=np.int64)
  scores = np.asarray(scores, dtype=np.float64)
  if not labels.shape == scores.shape == predicted.shape or labels.shape[1] != len(genres):
    raise ValueError(f'Shapes disagree: labels {labels.shape}, scores {scores.shape}, '
                     f'predicted {predicted.shape}, {len(genres)} genres.')
  mask = metrics.supported_genres(labels, min_support)
  f1 = metrics.f1_per_genre(labels, predicted)
  ap = metrics.average_precision_per_genre(labels, scores)
  true_positives = (labels * predicted).sum(axis=0)
  support, predicted_count = labels.sum(axis=0), predicted.sum(axis=0)
  per_genre = [
      GenreQuality(
          genre=genre, support=int(support[g]),
          precision=float(true_positives[g] / predicted_count[g]) if predicted_count[g] else 0.0,
          recall=float(true_positives[g] / support[g]) if support[g] else 0.0,
          f1=float(f1[g]), average_precision=float(ap[g]))
      for g, genre in enumerate(genres)]
  return Quality(
      macro_f1=float(f1[mask].mean()) if mask.any() else 0.0,
      micro_f1=metrics.micro_f1(labels, predicted),
      samples_f1=samples_f1(labels, predicted),
      mean_average_precision=float(ap[mask].mean()) if mask.any() else 0.0,
      min_support=min_support, genres_averaged=int(mask.sum()), per_genre=per_genre)


def _headline_array(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray,
                    min_support: int) -> np.ndarray:
  """[macro-F1, micro-F1, mAP] as `evaluate` computes them (the genre mask from `labels`)."""
  return np.array([metrics.macro_f1(labels, predicted, min_support),
                   metrics.micro_f1(labels, predicted),
                   mean_average_precision(labels, scores, min_support)])


@dataclasses.dataclass(frozen=True)
class Interval:
  value: float  # on every poster
  low: float  # 2.5th percentile over the resamples
  high: float  # 97.5th percentile


def bootstrap(labels: np.ndarray, runs: Dict[str, Sequence[np.ndarray]],
              reference: Optional[str] = None, resamples: int = 1000, seed: int = 0,
              min_support: int = MIN_SUPPORT) -> Dict[str, Dict[str, Interval]]:
  """Percentile bootstrap over posters of each run's headline metrics.

  `runs`: name -> (scores, predicted) on the same posters; predictions stay as their rules
  made them. Every run is scored on the same resamples, so with `reference` each other run
  also gets a paired interval of its gain over the reference, under `<metric>_gain`. The
  genres averaged are those with `min_support` positives in each resample.
  """
  labels = np.asarray(labels, dtype=np.int64)
  runs = {name: (np.asarray(scores), np.asarray(predicted))
          for name, (scores, predicted) in runs.items()}
  rng = np.random.default_rng(seed)
  point = {name: _headline_array(labels, *run, min_support) for name, run in runs.items()}
  samples = {name: [] for name in runs}
  for _ in range(resamples):
    rows = rng.integers(0, len(labels), len(labels))
    for name, (scores, predicted) in runs.items():
      samples[name].append(_headline_array(labels[rows], scores[rows], predicted[rows],
                                           min_support))
  samples = {name: np.array(values) for name, values in samples.items()}

  def interval(value: np.ndarray, draws: np.ndarray, i: int) -> Interval:
    low, high = np.percentile(draws[:, i], [2.5, 97.5])
    return Interval(float(value[i]), float(low), float(high))

  result = {}
  for name in runs:
    result[name] = {metric: interval(point[name], samples[name], i)
                    for i, metric in enumerate(HEADLINE_METRICS)}
    if reference is not None and name != reference:
      gain, draws = point[name] - point[reference], samples[name] - samples[reference]
      result[name].update({f'{metric}_gain': interval(gain, draws, i)
                           for i, metric in enumerate(HEADLINE_METRICS)})
  return result
