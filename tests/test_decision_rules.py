"""bench/decision_rules.py: the candidate rules and the cross-fit, on synthetic scores."""
import numpy as np
import pytest

from bench import decision_rules


def _labels_and_scores(seed: int = 0, posters: int = 300):
  rng = np.random.default_rng(seed)
  labels = (rng.uniform(size=(posters, 5)) < [0.5, 0.3, 0.2, 0.1, 0.05]).astype(np.int64)
  scores = 1 / (1 + np.exp(-(2 * labels - 1 + rng.normal(0, 1.2, labels.shape))))
  return labels, scores


def test_shrinkage_spans_the_per_genre_and_the_global_threshold():
  labels, scores = _labels_and_scores()
  own = decision_rules.per_genre(labels, scores)
  shared = decision_rules.global_threshold(labels, scores)
  np.testing.assert_allclose(decision_rules.shrunk(0.0)(labels, scores), own)
  np.testing.assert_allclose(decision_rules.shrunk(1e9)(labels, scores), [shared] * 5,
                             atol=1e-6)
  halfway = decision_rules.shrunk(10.0)(labels, scores)
  for genre, positives in enumerate(labels.sum(axis=0)):
    weight = positives / (positives + 10.0)
    assert halfway[genre] == pytest.approx(weight * own[genre] + (1 - weight) * shared)


def test_a_folds_cross_fitted_decisions_ignore_its_own_labels():
  labels, scores = _labels_and_scores()
  folds = np.arange(len(labels)) % 3
  decided = decision_rules.cross_fitted(decision_rules.per_genre, labels, scores, folds)
  flipped = labels.copy()
  flipped[folds == 0] = 1 - flipped[folds == 0]
  again = decision_rules.cross_fitted(decision_rules.per_genre, flipped, scores, folds)
  np.testing.assert_array_equal(again[folds == 0], decided[folds == 0])
  assert not np.array_equal(again[folds != 0], decided[folds != 0])
  counts = decided.sum(axis=1)
  assert counts.min() >= decision_rules.RULE.min_genres
  assert counts.max() <= decision_rules.RULE.max_genres


def test_out_of_fold_scores_join_the_tuning_posters():
  labels, scores = _labels_and_scores()
  train_labels, train_scores = _labels_and_scores(seed=1, posters=900)
  joined = decision_rules.with_out_of_fold(train_labels, train_scores)(labels, scores)
  assert joined == decision_rules.per_genre(np.concatenate([train_labels, labels]),
                                            np.concatenate([train_scores, scores]))
