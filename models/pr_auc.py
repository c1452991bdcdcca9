"""TFMA 0.47's AUC-PR, ROC AUC and confusion counts at thresholds, in numpy, for many columns at once.

TFMA computes `AUCPrecisionRecall(num_thresholds=T)` (and every confusion-matrix metric or plot
with `num_thresholds`) in three steps, reproduced here to the same arithmetic:
  1. a calibration histogram of the scores at TFMA's fixed resolution, 10,000 buckets on
     [0, 1] plus one below and one above (`calibration_histogram.py`): bucket
     `int(score * 10000) + 1`, clipped to [0, 10001];
  2. a rebinning of that histogram onto the T thresholds `[-1e-7, 1/(T-1), ..., (T-2)/(T-1),
     1 + 1e-7]`, each raised by 1e-7 (`binary_confusion_matrices.py`): a histogram bucket
     goes to the last threshold at or below its lower edge. So a score counts as above
     threshold t when its 1e-4-wide bucket starts at or above t + 1e-7, not when the score
     itself exceeds t: a score 0.00105 is not above the threshold 0.001001;
  3. cumulative sums into TP/FP/TN/FN per threshold, and AUC-PR by TFMA's default summation,
     the "careful" interpolation of Davis & Goadrich (TP and predicted positives are
     interpolated linearly between thresholds, precision is not).
ConfusionMatrixPlot rebins the same histogram onto its own thresholds (`plot_thresholds`), and
CalibrationPlot onto its buckets without the epsilon (`calibration_plot_buckets`).
Steps 1 and 2 only ever map a calibration bucket to a threshold bucket, so `histograms` maps
each score straight to its threshold bucket through a table of the 10,002 calibration
buckets: the counts per threshold bucket are TFMA's rebinned histogram, and they add up
across examples, so a TFMA combiner can accumulate them and a simulation can compute
thousands of columns (genres, bootstrap draws) in one call.
Plain numpy, no TFMA import: tests/test_pr_auc.py checks it against TFMA itself.
"""
import functools
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

# The push gate's AUC-PR resolution (the Evaluator's TFMA config and every model's own eval
# record): thresholds 0.001 apart, far finer than any change the gate tolerates; it moves
# AUC-PR by about 2e-4 against TFMA's default of 10,000, whose rebinning of every genre's
# histogram in every slice was most of the TestEvaluator's time.
GATE_THRESHOLDS = 1000
# TFMA's calibration_histogram.DEFAULT_NUM_BUCKETS: the histogram every thresholded confusion
# matrix is rebinned from, whatever its number of thresholds.
CALIBRATION_BUCKETS = 10000
# binary_confusion_matrices._EPSILON: the end thresholds' margin and the rebinning's offset.
_EPSILON = 1e-7


class Counts(NamedTuple):
  """Confusion counts at each threshold: arrays [..., T], T thresholds (TFMA's order)."""
  tp: np.ndarray
  fp: np.ndarray
  tn: np.ndarray
  fn: np.ndarray


def thresholds(num_thresholds: int) -> np.ndarray:
  """TFMA's thresholds for `num_thresholds` (binary_confusion_matrices._interpolated_thresholds)."""
  if num_thresholds <= 1:
    raise ValueError(f'num_thresholds must be > 1, got {num_thresholds}.')
  inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
  return np.array([-_EPSILON] + inner + [1.0 + _EPSILON])


def calibration_buckets(scores: np.ndarray, num_buckets: int = CALIBRATION_BUCKETS) -> np.ndarray:
  """TFMA's calibration-histogram bucket of each score on [0, 1] in `num_buckets` buckets:
  0 below 0, `num_buckets + 1` at 1 and above (_CalibrationHistogramCombiner._bucket_index)."""
  # TFMA converts each score to a Python float first: float64 arithmetic on the float32 value.
  scores = np.asarray(scores, dtype=np.float64)
  if np.isnan(scores).any():
    raise ValueError('NaN scores have no bucket (TFMA fails on them too).')
  index = scores * num_buckets + 1
  # Clipped, then truncated as TFMA's int() does (toward 0: the floor, for these values).
  return np.clip(index, 0, num_buckets + 1).astype(np.int64)


def plot_thresholds(num_thresholds: int) -> np.ndarray:
  """ConfusionMatrixPlot's thresholds: -1e-6, then i / num_thresholds for i in 0..num_thresholds
  (confusion_matrix_plot.py: the legacy plots' spacing, num_thresholds + 2 of them)."""
  return np.array([-1e-6] + [i * 1.0 / num_thresholds for i in range(0, num_thresholds + 1)])


def calibration_plot_thresholds(num_buckets: int) -> np.ndarray:
  """CalibrationPlot's bucket edges on [0, 1]: -inf, then i / num_buckets for i in 0..num_buckets
  (calibration_plot.py); bucket j is [edge j, edge j + 1), the last one [1, inf)."""
  return np.array([float('-inf')] + [0.0 + i * (1.0 - 0.0) / num_buckets
                                      for i in range(num_buckets + 1)])


def _calibration_lower_edges() -> np.ndarray:
  """The value calibration_histogram.rebin gives each of the 10,002 calibration buckets."""
  edges = np.arange(CALIBRATION_BUCKETS + 2) - 1.0
  edges /= CALIBRATION_BUCKETS
  edges[0], edges[-1] = -np.inf, np.inf
  return edges


def _read_only(table: np.ndarray) -> np.ndarray:
  table.setflags(write=False)
  return table


def _rebin_thresholds(ts: Tuple[float, ...]) -> np.ndarray:
  """The edges binary_confusion_matrices rebins the calibration histogram onto for thresholds
  `ts`: each raised by epsilon (turning the histogram's `>=` on bucket lower edges into the
  matrices' `>`; 0 stays 0), with a -epsilon bucket before thresholds starting at 0 or above
  and a fence post at 1 + epsilon after thresholds ending below 1."""
  rebin = [t + _EPSILON if t != 0 else t for t in ts]
  if ts[0] >= 0:
    rebin = [-_EPSILON] + rebin
  if ts[-1] < 1.0:
    rebin = rebin + [1.0 + _EPSILON]
  return np.array(rebin)


@functools.lru_cache(maxsize=None)
def _bucket_table(ts: Tuple[float, ...]) -> np.ndarray:
  """[CALIBRATION_BUCKETS + 2]: the bucket of `_rebin_thresholds(ts)` each calibration bucket
  goes to (calibration_histogram.rebin: bucket j holds the lower edges in [edge j,
  edge j + 1), the first one everything below edge 1, the last everything from its edge)."""
  return _read_only(np.searchsorted(_rebin_thresholds(ts)[1:], _calibration_lower_edges(),
                                    side='right'))


@functools.lru_cache(maxsize=None)
def _calibration_plot_table(num_buckets: int) -> np.ndarray:
  """[CALIBRATION_BUCKETS + 2]: CalibrationPlot's bucket of each calibration bucket (its rebin
  has no epsilon)."""
  edges = calibration_plot_thresholds(num_buckets)
  return _read_only(np.searchsorted(edges[1:], _calibration_lower_edges(), side='right'))


def _threshold_tuple(num_thresholds: Optional[int],
                     explicit: Optional[Sequence[float]]) -> Tuple[float, ...]:
  if (num_thresholds is None) == (explicit is None):
    raise ValueError('Give either num_thresholds or thresholds.')
  ts = tuple(float(t) for t in (thresholds(num_thresholds) if explicit is None else explicit))
  if len(ts) < 2 or list(ts) != sorted(ts):
    raise ValueError(f'Thresholds must be at least two, sorted: {ts}.')
  return ts


def threshold_buckets(scores: np.ndarray, num_thresholds: Optional[int] = None, *,
                      thresholds: Optional[Sequence[float]] = None) -> np.ndarray:
  """The threshold bucket of each score (any shape), for TFMA's `num_thresholds` or explicit
  `thresholds` (e.g. `plot_thresholds(n)`): `confusion_counts` counts a score as above
  threshold i exactly when its bucket is at least i (plus one when the thresholds start at 0
  or above: TFMA then adds a bucket below them)."""
  return _bucket_table(_threshold_tuple(num_thresholds, thresholds))[calibration_buckets(scores)]


def calibration_plot_buckets(scores: np.ndarray, num_buckets: int) -> np.ndarray:
  """CalibrationPlot(num_buckets)'s bucket, 0..num_buckets+1, of each score (any shape), as
  TFMA rebins it from the calibration histogram (`calibration_plot_thresholds`' intervals)."""
  return _calibration_plot_table(num_buckets)[calibration_buckets(scores)]


def bucket_counts(buckets: np.ndarray, values: Optional[np.ndarray],
                  num_buckets: int) -> np.ndarray:
  """[K, num_buckets]: the sum of `values` [N, K] per column and bucket (`buckets` [N, K]);
  with `values` None, the integer count of examples."""
  buckets = np.asarray(buckets)
  columns = buckets.shape[1]
  flat = (buckets + np.arange(columns) * num_buckets).ravel()
  weights = None if values is None else np.asarray(values, dtype=np.float64).ravel()
  return np.bincount(flat, weights=weights,
                     minlength=columns * num_buckets).reshape(columns, num_buckets)


def histograms(labels: np.ndarray, scores: np.ndarray, num_thresholds: Optional[int] = None,
               example_weights: Optional[np.ndarray] = None, *,
               thresholds: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
  """(positives, negatives), each [K, B]: per column the (weighted) positive and negative
  labels of the examples in each threshold bucket (TFMA's rebinned histogram), for TFMA's
  `num_thresholds` (B = num_thresholds) or explicit `thresholds`.

  `labels`, `scores`: [N, K] (or [N], one column); labels in [0, 1], fractional labels
  counting as that share of a positive (TFMA's `fractional_labels`). `example_weights`: [N].
  Histograms of disjoint example sets add up to the histogram of their union.
  """
  labels = np.asarray(labels, dtype=np.float64)
  scores = np.asarray(scores)
  if labels.shape != scores.shape:
    raise ValueError(f'labels {labels.shape} and scores {scores.shape} differ in shape.')
  if labels.ndim == 1:
    labels, scores = labels[:, None], scores[:, None]
  weights = (np.ones(labels.shape[0]) if example_weights is None
             else np.asarray(example_weights, dtype=np.float64))
  ts = _threshold_tuple(num_thresholds, thresholds)
  buckets = _bucket_table(ts)[calibration_buckets(scores)]
  width = len(_rebin_thresholds(ts))
  positives = bucket_counts(buckets, labels * weights[:, None], width)
  negatives = bucket_counts(buckets, (1.0 - labels) * weights[:, None], width)
  return positives, negatives


def _threshold_columns(ts: Tuple[float, ...]) -> Tuple[slice, np.ndarray]:
  """(the threshold buckets' columns that are thresholds `ts`, which of `ts` nothing is
  above): TFMA drops the bucket it added below thresholds starting at 0 or above, and the
  fence post; nothing is above a threshold of 1 + epsilon, not even a score of 1 (which its
  last bucket holds)."""
  offset = 1 if ts[0] >= 0 else 0
  return slice(offset, offset + len(ts)), np.array(ts) >= 1.0 + _EPSILON


def confusion_counts(positives: np.ndarray, negatives: np.ndarray,
                     thresholds: Optional[Sequence[float]] = None) -> Counts:
  """TP, FP, TN, FN [..., T] at T thresholds from threshold-bucket histograms [..., B]
  (binary_confusion_matrices._histogram_to_binary_confusion_matrices): the thresholds the
  histograms were made for, TFMA's `num_thresholds` ones (T = B) when not given."""
  positives = np.asarray(positives, dtype=np.float64)
  negatives = np.asarray(negatives, dtype=np.float64)
  ts = _threshold_tuple(positives.shape[-1] if thresholds is None else None, thresholds)
  # At bucket i: TP/FP the labels of buckets >= i, FN/TN those of buckets < i.
  tp = np.flip(np.cumsum(np.flip(positives, -1), -1), -1)
  fp = np.flip(np.cumsum(np.flip(negatives, -1), -1), -1)
  fn = np.cumsum(positives, -1) - positives
  tn = np.cumsum(negatives, -1) - negatives
  columns, beyond = _threshold_columns(ts)
  tp, fp, fn, tn = (c[..., columns] for c in (tp, fp, fn, tn))
  fn = np.where(beyond, tp[..., :1], fn)
  tn = np.where(beyond, fp[..., :1], tn)
  tp = np.where(beyond, 0.0, tp)
  fp = np.where(beyond, 0.0, fp)
  return Counts(tp=tp, fp=fp, tn=tn, fn=fn)


def auc_pr_from_counts(counts: Counts) -> np.ndarray:
  """AUC-PR [...] by TFMA's default summation (AUC._metric_value, curve PR, 'interpolation':
  the careful interpolation). 0 where a column has no positives, as in TFMA."""
  # TFMA divides by TP + FN at each threshold: every positive, whatever the threshold.
  return _auc_pr(counts.tp, counts.fp, counts.tp[..., 0] + counts.fn[..., 0])


def _auc_pr(tp: np.ndarray, fp: np.ndarray, positives: np.ndarray) -> np.ndarray:
  """`auc_pr_from_counts` from TP and FP [..., T] (floats, or integer counts) and the
  positives [...] alone."""
  shape, num_thresholds = tp.shape[:-1], tp.shape[-1]
  tp, fp = (c.reshape(-1, num_thresholds) for c in (tp, fp))
  positives = np.asarray(positives, dtype=np.float64).reshape(-1)
  # Only intervals that gain true positives add to the area: TFMA's increment elsewhere is 0
  # (no precision slope) or NaN (no predicted positives gained), which its nansum drops.
  # With a few hundred examples over 1,000 thresholds most intervals gain none, so the
  # formula runs on those that do, in float64 (integer counts convert exactly).
  rows, cols = np.nonzero(tp[:, :-1] > tp[:, 1:])
  tp_before, tp_after = (np.asarray(tp[rows, c], dtype=np.float64) for c in (cols, cols + 1))
  fp_before, fp_after = (np.asarray(fp[rows, c], dtype=np.float64) for c in (cols, cols + 1))
  dtp = tp_before - tp_after
  p_before = tp_before + fp_before
  p_after = tp_after + fp_after
  dp = p_before - p_after
  prec_slope = dtp / np.maximum(dp, 0)
  intercept = tp_after - prec_slope * p_after
  with np.errstate(divide='ignore'):
    safe_p_ratio = np.where(np.logical_and(p_before > 0, p_after > 0),
                            p_before / np.maximum(p_after, 0), 1.0)
  increment = (prec_slope * (dtp + intercept * np.log(safe_p_ratio))
               / np.maximum(positives[rows], 0))
  return np.bincount(rows, weights=increment, minlength=tp.shape[0]).reshape(shape)


def auc_pr_of_buckets(positive_buckets: np.ndarray, negative_buckets: np.ndarray,
                      num_thresholds: int) -> np.ndarray:
  """AUC-PR [K] per column of unweighted examples given by their threshold buckets
  (`threshold_buckets` for `num_thresholds`): [n, K] those of the positives, [m, K] those of
  the negatives. The numbers of `auc_pr(*histograms(labels, scores, num_thresholds))` on the
  same examples, to the bit (counts of whole examples are exact either way), from integer
  counts and without the weights, TN and FN that AUC-PR does not need: the push gate's
  chance-level simulation (components/evaluator/genre_judging.py) runs it on thousands of
  random columns per genre."""
  ts = _threshold_tuple(num_thresholds, None)
  width = len(_rebin_thresholds(ts))
  columns, beyond = _threshold_columns(ts)

  def above(buckets: np.ndarray) -> np.ndarray:
    # [K, T]: at each threshold, the examples of each column in the buckets from its own up.
    counts = bucket_counts(buckets, None, width)
    # int32: a column holds far fewer than 2**31 examples, and half the memory to sum.
    result = np.cumsum(counts[:, ::-1], axis=-1, dtype=np.int32)[:, ::-1]
    result = result[:, columns].copy()
    result[:, beyond] = 0
    return result

  positive_buckets = np.asarray(positive_buckets)
  positives = np.full(positive_buckets.shape[1], positive_buckets.shape[0], np.float64)
  return _auc_pr(above(positive_buckets), above(negative_buckets), positives)


def auc_roc_from_counts(counts: Counts) -> np.ndarray:
  """ROC AUC [...] by TFMA's default summation (AUC._metric_value, curve ROC, 'interpolation':
  trapezoids). 0 where a column has no positives or no negatives, as in TFMA."""
  with np.errstate(divide='ignore', invalid='ignore'):
    recall = counts.tp / (counts.tp + counts.fn)
    fp_rate = counts.fp / (counts.fp + counts.tn)
    heights = (recall[..., :-1] + recall[..., 1:]) / 2.
    return np.nansum((fp_rate[..., :-1] - fp_rate[..., 1:]) * heights, axis=-1)


def auc_pr(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
  """AUC-PR [...] of threshold-bucket histograms [..., T]: TFMA's AUCPrecisionRecall(T)."""
  return auc_pr_from_counts(confusion_counts(positives, negatives))


def auc_roc(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
  """ROC AUC [...] of threshold-bucket histograms [..., T]: TFMA's AUC(num_thresholds=T)."""
  return auc_roc_from_counts(confusion_counts(positives, negatives))
