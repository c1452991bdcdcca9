"""models/pr_auc.py against TFMA 0.47's own AUCPrecisionRecall, AUC and matrices.

TFMA's side runs TFMA's metric computations themselves (the calibration-histogram combiner,
then the derived matrices and AUCs) on the same examples, as TFMA's metrics/*_test.py do,
without the Beam pipeline around them (the combiner is what Beam would call).
"""
import numpy as np
import pytest
from tensorflow_model_analysis.metrics import calibration_plot
from tensorflow_model_analysis.metrics import confusion_matrix_metrics
from tensorflow_model_analysis.metrics import confusion_matrix_plot
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util

from models import pr_auc

COUNT_TOLERANCE = 1e-6
AUC_TOLERANCE = 1e-4


def _tfma(metric, labels, scores, weights=None):
  """{class id: (TFMA's metric value, its Matrices)} for columns of [N, K] labels / scores."""
  columns = labels.shape[1]
  computations = metric.computations(
      sub_keys=[metric_types.SubKey(class_id=k) for k in range(columns)],
      example_weighted=weights is not None)
  inputs = [metric_util.to_standard_metric_inputs(
      {'labels': labels[n], 'predictions': scores[n],
       'example_weights': np.array([1.0 if weights is None else weights[n]])})
            for n in range(len(labels))]
  values = {}
  for computation in computations:
    if isinstance(computation, metric_types.DerivedMetricComputation):
      values.update(computation.result(values))
      continue
    combiner = computation.combiner
    accumulator = combiner.create_accumulator()
    for example in inputs:
      accumulator = combiner.add_input(accumulator, example)
    values.update(combiner.extract_output(accumulator))
  out = {}
  for key, value in values.items():
    if key.name == metric.name:
      matrices = next(v for k, v in values.items()
                      if k.name.startswith('_binary_confusion_matrices')
                      and k.sub_key == key.sub_key)
      out[key.sub_key.class_id] = (value, matrices)
  assert sorted(out) == list(range(columns))
  return out


def _check_against_tfma(labels, scores, num_thresholds, weights=None):
  positives, negatives = pr_auc.histograms(labels, scores, num_thresholds, weights)
  counts = pr_auc.confusion_counts(positives, negatives)
  ours = {'auc_precision_recall': pr_auc.auc_pr(positives, negatives),
          'auc': pr_auc.auc_roc(positives, negatives)}
  for metric in (confusion_matrix_metrics.AUCPrecisionRecall(num_thresholds=num_thresholds),
                 confusion_matrix_metrics.AUC(num_thresholds=num_thresholds)):
    for k, (value, matrices) in _tfma(metric, labels, scores, weights).items():
      np.testing.assert_allclose(pr_auc.thresholds(num_thresholds), matrices.thresholds,
                                 rtol=0, atol=0)
      for name in ('tp', 'fp', 'tn', 'fn'):
        np.testing.assert_allclose(getattr(counts, name)[k], getattr(matrices, name),
                                   rtol=0, atol=COUNT_TOLERANCE, err_msg=f'{name}, column {k}')
      assert abs(ours[metric.name][k] - value) <= AUC_TOLERANCE, (metric.name, k)


def _random_columns(rng, n, k):
  prevalence = rng.uniform(0.05, 0.5, size=k)
  labels = (rng.uniform(size=(n, k)) < prevalence).astype(np.float32)
  # Informative, unevenly spread scores, as a sigmoid head gives.
  logits = rng.normal(size=(n, k)) + 1.5 * labels - 1.0
  return labels, (1 / (1 + np.exp(-logits))).astype(np.float32)


@pytest.mark.parametrize('num_thresholds', [1000, 100])
def test_random_multi_label_columns_match_tfma(num_thresholds):
  labels, scores = _random_columns(np.random.default_rng(0), 400, 4)
  _check_against_tfma(labels, scores, num_thresholds)


def test_ties_and_scores_on_every_kind_of_edge_match_tfma():
  # Scores on TFMA's thresholds (i / 999), just either side of them, on calibration-bucket
  # edges (m / 10000), and below a threshold's bucket edge though above the threshold itself
  # (0.00105 > 0.001001, but its bucket starts at 0.001); 0, 1, out of [0, 1]; heavy ties.
  edges = [0.0, 1.0, -0.5, 1.5, 0.5, 1 / 999, 0.00105, 0.0011, 998 / 999, 0.9999, 0.99995,
           0.25, 0.3, 0.7, 1e-8, 1 - 1e-8, 0.001001, 0.0010011, 0.1, 0.2]
  base = np.array(edges + [v + d for v in (0.25, 0.5, 0.75) for d in (-1e-7, 1e-7)],
                  dtype=np.float64)
  rng = np.random.default_rng(1)
  scores = np.repeat(base, 6)
  n = len(scores)
  tied = np.full(n, 0.42)
  labels = np.stack([rng.uniform(size=n) < 0.3, rng.uniform(size=n) < 0.6,
                     rng.uniform(size=n) < 0.5], axis=1).astype(np.float64)
  scores = np.stack([scores, rng.permutation(scores), tied], axis=1)
  _check_against_tfma(labels, scores.astype(np.float32), 1000)
  _check_against_tfma(labels, scores, 1000)


def test_degenerate_columns_match_tfma():
  rng = np.random.default_rng(2)
  scores = rng.uniform(size=(50, 3)).astype(np.float32)
  # No positives (AUC-PR 0), all positives, a single example's worth of positives.
  labels = np.zeros((50, 3), dtype=np.float32)
  labels[:, 1] = 1
  labels[7, 2] = 1
  _check_against_tfma(labels, scores, 1000)


def test_fractional_labels_and_example_weights_match_tfma():
  rng = np.random.default_rng(3)
  labels = rng.choice([0.0, 0.25, 1.0], size=(120, 2))
  scores = rng.uniform(size=(120, 2))
  _check_against_tfma(labels, scores, 1000, weights=rng.uniform(0.5, 2.0, size=120))


def test_histograms_add_up_over_disjoint_example_sets():
  labels, scores = _random_columns(np.random.default_rng(4), 300, 5)
  whole = pr_auc.histograms(labels, scores, 1000)
  first = pr_auc.histograms(labels[:120], scores[:120], 1000)
  rest = pr_auc.histograms(labels[120:], scores[120:], 1000)
  for total, a, b in zip(whole, first, rest):
    np.testing.assert_array_equal(total, a + b)
  assert whole[0].shape == (5, 1000)
  np.testing.assert_array_equal(whole[0].sum(1), labels.sum(0))
  np.testing.assert_array_equal(whole[1].sum(1), (1 - labels).sum(0))


def test_a_single_column_and_batches_of_histograms():
  labels, scores = _random_columns(np.random.default_rng(5), 200, 3)
  positives, negatives = pr_auc.histograms(labels, scores, 1000)
  one = pr_auc.histograms(labels[:, 1], scores[:, 1], 1000)
  np.testing.assert_array_equal(one[0][0], positives[1])
  # Any leading shape: [draws, K, T] histograms give [draws, K] AUCs.
  stacked = pr_auc.auc_pr(np.stack([positives, positives[::-1]]),
                          np.stack([negatives, negatives[::-1]]))
  np.testing.assert_allclose(stacked[0], pr_auc.auc_pr(positives, negatives))
  np.testing.assert_allclose(stacked[1], pr_auc.auc_pr(positives, negatives)[::-1])


def test_a_perfect_ranking_scores_one_and_nan_scores_are_refused():
  labels = np.array([[0.], [0.], [1.], [1.]])
  scores = np.array([[0.1], [0.2], [0.8], [0.9]])
  assert pr_auc.auc_pr(*pr_auc.histograms(labels, scores, 1000))[0] == pytest.approx(1.0)
  assert pr_auc.auc_roc(*pr_auc.histograms(labels, scores, 1000))[0] == pytest.approx(1.0)
  with pytest.raises(ValueError, match='NaN'):
    pr_auc.histograms(labels, np.array([[0.1], [np.nan], [0.8], [0.9]]), 1000)



def test_confusion_matrix_plot_thresholds_match_tfma():
  # The plot's own thresholds (-1e-6, 0, 0.01, ..., 1): a score of exactly 1 counts as above
  # its last threshold, unlike AUC-PR's 1 + epsilon.
  rng = np.random.default_rng(7)
  labels, scores = _random_columns(rng, 200, 2)
  scores[:10] = [[0.0, 1.0], [1.0, 0.0], [0.01, 0.5], [0.0100001, 0.99], [0.02, 0.02]] * 2
  ts = pr_auc.plot_thresholds(100)
  counts = pr_auc.confusion_counts(*pr_auc.histograms(labels, scores, thresholds=ts),
                                   thresholds=ts)
  plot = confusion_matrix_plot.ConfusionMatrixPlot(num_thresholds=100)
  for k, (_, matrices) in _tfma(plot, labels, scores).items():
    np.testing.assert_array_equal(ts, matrices.thresholds)
    for name in ('tp', 'fp', 'tn', 'fn'):
      np.testing.assert_allclose(getattr(counts, name)[k], getattr(matrices, name),
                                 rtol=0, atol=COUNT_TOLERANCE, err_msg=f'{name}, column {k}')


def test_calibration_plot_buckets_match_tfma():
  rng = np.random.default_rng(8)
  scores = np.concatenate([rng.uniform(size=200), [0.0, 0.1, 0.3, 0.9999, 1.0, -0.1, 1.2]])
  buckets = pr_auc.calibration_plot_buckets(scores, 10)
  computations = calibration_plot.CalibrationPlot(num_buckets=10).computations()
  histogram, plot = computations
  accumulator = histogram.combiner.create_accumulator()
  for score in scores:
    accumulator = histogram.combiner.add_input(accumulator, metric_util.to_standard_metric_inputs(
        {'labels': np.array([1.0]), 'predictions': np.array([score])}))
  proto = next(iter(plot.result(histogram.combiner.extract_output(accumulator)).values()))
  np.testing.assert_array_equal(
      np.bincount(buckets, minlength=12),
      [b.num_weighted_examples.value for b in proto.buckets])
  np.testing.assert_array_equal(pr_auc.calibration_plot_thresholds(10)[1:],
                                [b.upper_threshold_exclusive for b in proto.buckets][:-1])


@pytest.mark.parametrize('num_thresholds', [pr_auc.GATE_THRESHOLDS, 200])
def test_auc_pr_of_buckets_is_the_auc_pr_of_the_histograms_to_the_bit(num_thresholds):
  # The chance-level simulation's shortcut: posters by bucket, positives first, no weights.
  rng = np.random.default_rng(11)
  scores = np.concatenate([rng.random((300, 40)), np.round(rng.random((300, 40)), 2),
                           np.zeros((5, 40)), np.ones((5, 40))])
  rng.shuffle(scores, axis=0)
  for positives in (1, 17, 150, len(scores)):
    labels = np.zeros(scores.shape)
    labels[:positives] = 1.0
    buckets = pr_auc.threshold_buckets(scores, num_thresholds)
    np.testing.assert_array_equal(
        pr_auc.auc_pr_of_buckets(buckets[:positives], buckets[positives:], num_thresholds),
        pr_auc.auc_pr(*pr_auc.histograms(labels, scores, num_thresholds)))
