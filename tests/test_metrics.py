"""Quality metrics (the product's, models/metrics.py, and the benchmarks', bench/stats.py) and
trivial baselines, against hand-computed values."""
import numpy as np
import pytest

from bench import stats
from models import baselines
from models import metrics

GENRES = ['Action', 'Comedy', 'Drama']


def test_f1_variants_on_a_hand_computed_case():
  labels = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
  predicted = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]])
  assert metrics.f1_per_genre(labels, predicted) == pytest.approx([2 / 3, 0.8, 0.0])
  # Genre 2 has no positives: left out of the macro average.
  assert metrics.macro_f1(labels, predicted) == pytest.approx((2 / 3 + 0.8) / 2)
  assert metrics.macro_f1(labels, predicted, min_support=2) == pytest.approx((2 / 3 + 0.8) / 2)
  assert metrics.macro_f1(labels, predicted, min_support=3) == 0.0
  # Pooled: tp 3, 4 positives, 5 predictions.
  assert metrics.micro_f1(labels, predicted) == pytest.approx(6 / 9)
  # Per poster: 2/3, 2/3, 2/3.
  assert stats.samples_f1(labels, predicted) == pytest.approx(2 / 3)


def test_average_precision_matches_the_definition():
  labels = np.array([1, 0, 1, 0, 0])
  scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
  # Positives at ranks 1 and 3: (1/1 + 2/3) / 2.
  assert metrics.average_precision(labels, scores) == pytest.approx((1 + 2 / 3) / 2)
  # A constant score is one tied step: the prevalence.
  assert metrics.average_precision(labels, np.full(5, 0.4)) == pytest.approx(0.4)
  assert metrics.average_precision(np.zeros(5), scores) == 0.0


def test_evaluate_reports_per_genre_rows_and_supported_macro_average():
  rng = np.random.default_rng(0)
  labels = np.zeros((40, 3), dtype=np.int64)
  labels[:20, 0] = 1
  labels[10:30, 1] = 1
  labels[0, 2] = 1  # One positive only: below min_support.
  scores = rng.random(labels.shape)
  predicted = (scores > 0.5).astype(np.int64)
  quality = stats.evaluate(labels, scores, predicted, GENRES, min_support=5)
  assert quality.genres_averaged == 2
  assert [row.support for row in quality.per_genre] == [20, 20, 1]
  f1 = metrics.f1_per_genre(labels, predicted)
  assert quality.macro_f1 == pytest.approx(f1[:2].mean())
  with pytest.raises(ValueError, match='Shapes disagree'):
    stats.evaluate(labels, scores[:, :2], predicted, GENRES)


def test_baselines():
  train = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 1], [0, 0, 1]])
  evaluation = np.array([[0, 1, 1], [1, 1, 0], [0, 0, 1]])
  nothing_scores, nothing = baselines.predict_nothing(5, 3)
  assert nothing.sum() == 0 and nothing_scores.shape == (5, 3)
  prior_scores, prior = baselines.genre_prior(train, evaluation, 5)
  np.testing.assert_allclose(prior_scores[0], [0.25, 0.75, 0.75])
  # On constant scores the F1-optimal choice per genre is to predict it for everyone.
  assert prior.tolist() == [[1, 1, 1]] * 5
  _, always = baselines.always_genres(GENRES, 2)
  assert always.tolist() == [[0, 1, 1]] * 2
  with pytest.raises(ValueError, match='not in the vocabulary'):
    baselines.always_genres(['Action'], 2)


def test_bootstrap_intervals_hold_the_point_and_pair_the_gain():
  rng = np.random.default_rng(0)
  labels = (rng.uniform(size=(300, 5)) < 0.3).astype(np.int64)
  noisy = labels + rng.normal(0, 0.8, labels.shape)
  good = labels + rng.normal(0, 0.2, labels.shape)
  runs = {'noisy': (noisy, (noisy > 0.5).astype(np.int64)),
          'good': (good, (good > 0.5).astype(np.int64))}
  result = stats.bootstrap(labels, runs, reference='noisy', resamples=200)
  for name, (scores, predicted) in runs.items():
    quality = stats.evaluate(labels, scores, predicted, list('abcde'))
    assert result[name]['map'].value == pytest.approx(quality.mean_average_precision)
    assert result[name]['macro_f1'].value == pytest.approx(quality.macro_f1)
    for metric in stats.HEADLINE_METRICS:
      interval = result[name][metric]
      assert interval.low <= interval.value <= interval.high
  assert 'map_gain' not in result['noisy']
  for metric in stats.HEADLINE_METRICS:
    assert 0 < result['good'][f'{metric}_gain'].low


def test_mean_average_precision_averages_the_supported_genres():
  labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
  scores = np.array([[0.9, 0.2, 0.1], [0.1, 0.8, 0.3], [0.8, 0.4, 0.2], [0.2, 0.9, 0.4]])
  ap = metrics.average_precision_per_genre(labels, scores)
  assert stats.mean_average_precision(labels, scores, min_support=2) == pytest.approx(
      ap[:2].mean())
  assert stats.mean_average_precision(labels, scores, min_support=3) == 0.0
