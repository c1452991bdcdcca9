"""The decision rule: F1 arithmetic and the eval-tuned global threshold."""
import numpy as np
import pytest

from models import thresholds


def test_f1_per_genre_and_macro_over_present_genres():
  labels = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
  predicted = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]])
  f1 = thresholds.f1_per_genre(labels, predicted)
  assert f1 == pytest.approx([2 / 3, 0.8, 0.0])
  # Genre 2 has no positives: left out of the macro average.
  assert thresholds.macro_f1(labels, predicted) == pytest.approx((2 / 3 + 0.8) / 2)


def test_tuned_threshold_separates_well_ranked_scores():
  rng = np.random.default_rng(0)
  labels = (rng.random((400, 4)) < 0.3).astype(np.int64)
  scores = np.where(labels == 1, rng.uniform(0.35, 0.6, labels.shape),
                    rng.uniform(0.0, 0.3, labels.shape))
  threshold = thresholds.tune_global_threshold(labels, scores)
  assert 0.3 <= threshold <= 0.35
  assert thresholds.macro_f1(labels, (scores >= threshold).astype(np.int64)) == 1.0


def test_no_positives_gives_zero_macro_f1():
  assert thresholds.macro_f1(np.zeros((3, 2)), np.ones((3, 2))) == 0.0
