"""The decision rule: eval-tuned thresholds, top-1 and top-k, and its TensorFlow twin."""
import numpy as np
import pytest
import tensorflow as tf

from models import export
from models import metrics
from models import thresholds


def _separable(seed=0, n=400, genres=4):
  rng = np.random.default_rng(seed)
  labels = (rng.random((n, genres)) < 0.3).astype(np.int64)
  scores = np.where(labels == 1, rng.uniform(0.35, 0.6, labels.shape),
                    rng.uniform(0.0, 0.3, labels.shape))
  return labels, scores


def _noisy(seed: int = 0, posters: int = 300):
  rng = np.random.default_rng(seed)
  labels = (rng.uniform(size=(posters, 5)) < [0.5, 0.3, 0.2, 0.1, 0.05]).astype(np.int64)
  scores = 1 / (1 + np.exp(-(2 * labels - 1 + rng.normal(0, 1.2, labels.shape))))
  return labels, scores


def test_tuned_global_threshold_separates_well_ranked_scores():
  labels, scores = _separable()
  threshold = thresholds.tune_global_threshold(labels, scores)
  assert 0.3 <= threshold <= 0.35
  assert metrics.macro_f1(labels, (scores >= threshold).astype(np.int64)) == 1.0


def test_per_genre_thresholds_follow_each_genres_scale():
  labels, scores = _separable()
  scores[:, 1] *= 0.2  # Genre 1's scores live on a much smaller scale.
  tuned = thresholds.tune_per_genre_thresholds(labels, scores)
  assert 0.06 < tuned[1] < 0.07
  assert all(0.3 < t < 0.35 for i, t in enumerate(tuned) if i != 1)
  assert metrics.macro_f1(labels, thresholds.apply_rule(scores, tuned, min_genres=0)) == 1.0
  global_rule = thresholds.tune_rule(labels, scores, 'global', min_genres=0)
  assert metrics.macro_f1(labels, global_rule.apply(scores)) < 1.0


def test_genres_with_few_positives_fall_back_to_the_global_threshold():
  labels, scores = _separable()
  labels[:, 2] = 0
  labels[:3, 2] = 1
  tuned = thresholds.tune_per_genre_thresholds(labels, scores, min_positives=8)
  assert tuned[2] == thresholds.tune_global_threshold(labels, scores)


def test_best_f1_threshold_on_constant_scores_predicts_everyone():
  labels = np.array([1, 0, 0, 1])
  threshold = thresholds.best_f1_threshold(labels, np.full(4, 0.3))
  assert threshold == pytest.approx(0.3)


def test_every_poster_gets_its_top_genre_and_at_most_max_genres():
  scores = np.array([[0.1, 0.2, 0.05], [0.9, 0.8, 0.7], [0.3, 0.3, 0.0]])
  rule = thresholds.DecisionRule(thresholds=[0.5, 0.5, 0.5], min_genres=1, max_genres=2)
  np.testing.assert_array_equal(rule.apply(scores), [[0, 1, 0], [1, 1, 0], [1, 0, 0]])
  no_floor = thresholds.apply_rule(scores, [0.5] * 3, min_genres=0)
  np.testing.assert_array_equal(no_floor, [[0, 0, 0], [1, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize('rank_by', thresholds.RANKINGS)
@pytest.mark.parametrize('min_genres,max_genres', [(0, None), (1, None), (1, 2), (2, 3)])
def test_exported_rule_matches_the_numpy_rule(min_genres, max_genres, rank_by):
  rng = np.random.default_rng(3)
  scores = rng.random((64, 6)).astype(np.float32)
  scores[5] = 0.5  # Ties of scores (not of margins: the thresholds differ).
  scores[6] = [1.0, 1.0, 0.0, 0.0, 1.0, 0.5]  # Saturated scores: infinite margins, tied.
  cutoffs = rng.uniform(0.05, 0.9, 6).astype(np.float32)
  cutoffs[3] = cutoffs[2]  # Tied margins of equal scores.
  expected = thresholds.apply_rule(scores, cutoffs, min_genres, max_genres, rank_by)
  got = export.apply_rule(tf.constant(scores), tf.constant(cutoffs), min_genres, max_genres,
                          rank_by)
  np.testing.assert_array_equal(got.numpy(), expected)


def test_margin_slots_go_to_the_genre_furthest_above_its_own_threshold():
  # Genre 2 is rare (threshold 0.1) and scores three times it; genres 0 and 1 only just
  # reach theirs. One slot: by score genre 0 takes it, by margin genre 2 does.
  scores = np.array([[0.62, 0.55, 0.3]])
  cutoffs = [0.6, 0.5, 0.1]
  np.testing.assert_array_equal(thresholds.apply_rule(scores, cutoffs, 1, 1), [[1, 0, 0]])
  np.testing.assert_array_equal(thresholds.apply_rule(scores, cutoffs, 1, 1, 'margin'),
                                [[0, 0, 1]])
  # Below every threshold, the minimum still gives the genre nearest its own.
  np.testing.assert_array_equal(
      thresholds.apply_rule(np.array([[0.5, 0.2, 0.09]]), cutoffs, 1, 2, 'margin'),
      [[0, 0, 1]])


def test_unknown_ranking_is_rejected():
  with pytest.raises(ValueError, match='ranking'):
    thresholds.apply_rule(np.ones((2, 2)) / 2, [0.5, 0.5], rank_by='magic')
  with pytest.raises(ValueError, match='ranking'):
    export.apply_rule(tf.fill([2, 2], 0.5), tf.fill([2], 0.5), 1, None, 'magic')


def _frequent_and_rare(seed=0, n=600):
  """Genre 0 frequent with high scores, genres 1-2 rare with low scores that still rank their
  own positives first: a global threshold with score slots never gives the rare ones."""
  rng = np.random.default_rng(seed)
  labels = np.zeros((n, 3), np.int64)
  labels[:, 0] = rng.random(n) < 0.6
  labels[:, 1] = rng.random(n) < 0.08
  labels[:, 2] = rng.random(n) < 0.08
  scores = np.empty((n, 3))
  scores[:, 0] = np.where(labels[:, 0] == 1, rng.uniform(0.55, 0.9, n), rng.uniform(0.4, 0.7, n))
  for genre in (1, 2):
    scores[:, genre] = np.where(labels[:, genre] == 1, rng.uniform(0.12, 0.2, n),
                                rng.uniform(0.01, 0.1, n))
  return labels, scores


def test_base_rate_rule_gives_rare_genres_their_slots():
  labels, scores = _frequent_and_rare()
  base_rate = thresholds.tune_rule(labels, scores, 'base_rate', min_genres=1, max_genres=1)
  global_rule = thresholds.tune_rule(labels, scores, 'global', min_genres=1, max_genres=1)
  assert base_rate.rank_by == 'margin' and global_rule.rank_by == 'score'
  assert global_rule.apply(scores)[:, 1:].sum() == 0
  assert (metrics.f1_per_genre(labels, base_rate.apply(scores))[1:] > 0.5).all()
  assert metrics.macro_f1(labels, base_rate.apply(scores)) > metrics.macro_f1(
      labels, global_rule.apply(scores))
  # Each threshold follows its genre's base rate: the rare genres' are the lower.
  assert max(base_rate.thresholds[1:]) < base_rate.thresholds[0]


def test_base_rate_rule_is_the_global_rule_when_tilting_does_not_help():
  labels, scores = _separable()  # Every genre on the same scale: nothing to tilt for.
  base_rate = thresholds.tune_rule(labels, scores, 'base_rate', min_genres=1, max_genres=3)
  global_rule = thresholds.tune_rule(labels, scores, 'global', min_genres=1, max_genres=3)
  np.testing.assert_allclose(base_rate.thresholds, global_rule.thresholds)
  np.testing.assert_array_equal(base_rate.apply(scores), global_rule.apply(scores))


def test_unknown_policy_is_rejected():
  with pytest.raises(ValueError, match='threshold policy'):
    thresholds.tune_rule(np.ones((2, 2)), np.ones((2, 2)), 'magic')


def _capped_f1_per_genre(labels, scores, cutoffs, min_genres, max_genres):
  return metrics.f1_per_genre(labels, thresholds.apply_rule(scores, cutoffs, min_genres,
                                                            max_genres))


@pytest.mark.parametrize('min_genres,max_genres', [(1, 3), (1, 1), (2, 2), (0, 2)])
def test_thresholds_tuned_with_the_cap_are_each_genres_best_under_the_rule(min_genres,
                                                                           max_genres):
  rng = np.random.default_rng(11)
  labels = (rng.random((300, 6)) < 0.35).astype(np.int64)
  scores = np.clip(0.3 * labels + rng.normal(0.35, 0.2, labels.shape), 0.0, 1.0)
  tuned = thresholds.tune_per_genre_thresholds(labels, scores, min_positives=1,
                                               min_genres=min_genres, max_genres=max_genres)
  best = _capped_f1_per_genre(labels, scores, tuned, min_genres, max_genres)
  # No other threshold for any one genre does better, the others held (brute force).
  for genre in range(labels.shape[1]):
    for candidate in np.r_[np.unique(scores[:, genre]), 1.5]:
      trial = list(tuned)
      trial[genre] = candidate
      f1 = _capped_f1_per_genre(labels, scores, trial, min_genres, max_genres)[genre]
      assert f1 <= best[genre] + 1e-12, (genre, candidate)


def test_tuning_with_the_cap_beats_capping_thresholds_tuned_without_it():
  rng = np.random.default_rng(5)
  labels = (rng.random((400, 8)) < 0.3).astype(np.int64)
  scores = np.clip(0.25 * labels + rng.normal(0.4, 0.2, labels.shape), 0.0, 1.0)
  uncapped = thresholds.tune_per_genre_thresholds(labels, scores, min_genres=1)
  capped = thresholds.tune_rule(labels, scores, 'per_genre', min_genres=1, max_genres=2)
  assert capped.max_genres == 2
  assert (metrics.macro_f1(labels, capped.apply(scores))
          > metrics.macro_f1(labels, thresholds.apply_rule(scores, uncapped, 1, 2)))
  assert capped.apply(scores).sum(axis=1).max() == 2


def test_a_genre_the_rule_always_gives_can_be_left_to_the_rule():
  # Genre 1's third poster is capped off: its threshold is tuned on the other two.
  labels = np.array([[1, 0], [0, 1], [0, 1]])
  scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.85, 0.2]])
  threshold = thresholds.best_f1_threshold(labels[:, 1], scores[:, 1],
                                           forced_on=np.array([False, False, False]),
                                           forced_off=np.array([False, False, True]))
  assert 0.1 < threshold <= 0.7
  # Genre 0 is right only on the poster the minimum forces: predicting any other adds only
  # false positives, so its threshold sits above every free score.
  above = thresholds.best_f1_threshold(
      np.array([1, 0, 0]), scores[:, 0], forced_on=np.array([True, False, False]))
  assert above > 0.85


def test_shrinkage_spans_the_own_and_the_shared_value():
  own, positives = np.array([0.2, 0.5, 0.8]), np.array([0, 10, 1e9])
  np.testing.assert_allclose(thresholds.shrink(own, 0.4, positives + 1, 0.0), own)
  np.testing.assert_allclose(thresholds.shrink(own, 0.4, positives, 10.0),
                             [0.4, 0.45, 0.8], atol=1e-6)


def test_entry_bar_is_the_margin_that_gets_a_genre_predicted():
  # Others' margins: a poster where 3 others clear their thresholds, one where none does.
  others = np.array([[2.0, 1.0, 0.5, -1.0], [-0.5, -1.0, -2.0, -3.0]])
  # Top 3 needs to beat 0.5; with none above threshold the floor of 1 genre needs -0.5.
  np.testing.assert_allclose(thresholds.entry_bar(others, 1, 3), [0.5, -0.5])


def test_margin_thresholds_are_each_genres_best_given_the_others():
  labels, scores = _noisy()
  cuts = thresholds.margin_thresholds(labels, scores, 0.0, 1, 3, rounds=4)

  def f1(trial):
    return metrics.f1_per_genre(labels, thresholds.apply_rule(scores, trial, 1, 3, 'margin'))

  best = f1(cuts)
  # The last genre to move is at its exact optimum (brute force over its cuts).
  genre = max(g for g in range(5) if labels[:, g].sum() >= thresholds.MIN_POSITIVES_TO_TUNE)
  for candidate in np.unique(scores[:, genre]):
    trial = cuts.copy()
    trial[genre] = candidate
    assert f1(trial)[genre] <= best[genre] + 1e-12


def test_margin_policy_goes_its_pull_of_the_way_from_base_rate_to_the_per_genre_thresholds():
  labels, scores = _noisy()
  base = thresholds.tune_base_rate_thresholds(labels, scores, 1, 3)
  own = thresholds.margin_thresholds(labels, scores, thresholds.MARGIN_SHRINKAGE, 1, 3)
  np.testing.assert_allclose(thresholds.tune_margin_thresholds(labels, scores, 1, 3, pull=0.0),
                             base, rtol=1e-9)
  np.testing.assert_allclose(thresholds.tune_margin_thresholds(labels, scores, 1, 3, pull=1.0),
                             own, rtol=1e-9)
  half = thresholds.logit(np.array(thresholds.tune_margin_thresholds(labels, scores, 1, 3,
                                                                     pull=0.5)))
  np.testing.assert_allclose(half, (thresholds.logit(np.array(base))
                                    + thresholds.logit(own)) / 2, rtol=1e-9)
  rule = thresholds.tune_rule(labels, scores, 'margin', 1, 3)
  assert rule.rank_by == 'margin' and (rule.min_genres, rule.max_genres) == (1, 3)
  np.testing.assert_allclose(rule.thresholds, thresholds.tune_margin_thresholds(
      labels, scores, 1, 3))
  counts = rule.apply(scores).sum(axis=1)
  assert counts.min() >= 1 and counts.max() <= 3
