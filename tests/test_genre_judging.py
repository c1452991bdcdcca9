"""The push gate's statistics: chance levels from the null distribution of AUC-PR, and which
genres the gate can judge."""
import numpy as np
import pytest

from components.evaluator import genre_judging
from models import pr_auc

T = pr_auc.GATE_THRESHOLDS
JUDGE = dict(min_eval_positives=30, genre_drop_scale=0.5, chance_confidence=0.99,
             num_thresholds=T)


def test_random_scores_beat_the_prevalence_more_the_fewer_positives():
  # The AUC-PR of a random ranking sits above the positives' share: a chance level of the
  # prevalence is passed by noise more often than not.
  few = genre_judging.null_auc_pr(37, 645, T)
  many = genre_judging.null_auc_pr(330, 645, T)
  assert few.mean() > 37 / 645 + 0.003
  assert np.mean(few > 37 / 645) > 0.5
  assert many.mean() - 330 / 645 < few.mean() - 37 / 645


def test_noise_is_refused_at_the_chosen_confidence():
  level = genre_judging.chance_level(44, 645, 0.99, T)
  # Noise drawn apart from the level's own simulation.
  noise = genre_judging.null_auc_pr(44, 645, T, draws=4000, seed=1)
  assert np.mean(noise > level) == pytest.approx(0.01, abs=0.006)
  assert genre_judging.chance_level(44, 645, 0.95, T) < level


def test_the_null_is_the_auc_pr_of_shuffled_labels():
  rng = np.random.default_rng(3)
  labels = np.zeros(200)
  labels[:20] = 1
  scores = rng.random(200)
  shuffled = np.stack([rng.permutation(labels) for _ in range(2000)], axis=1)
  by_shuffling = pr_auc.auc_pr(*pr_auc.histograms(shuffled, np.broadcast_to(
      scores[:, None], shuffled.shape), T))
  simulated = genre_judging.null_auc_pr(20, 200, T, draws=2000)
  assert np.quantile(by_shuffling, 0.9) == pytest.approx(np.quantile(simulated, 0.9), abs=0.02)
  assert by_shuffling.mean() == pytest.approx(simulated.mean(), abs=0.01)


def test_the_null_is_the_auc_pr_of_the_simulated_columns_histograms():
  # The simulation's own draws, through the general path: the same numbers to the bit.
  batch = genre_judging._DRAWS_PER_BATCH  # pylint: disable=protected-access
  draws, positives, posters = batch + 200, 23, 645
  rng = np.random.default_rng([genre_judging.NULL_SEED, positives, posters])
  labels = np.zeros((posters, 1))
  labels[:positives] = 1.0
  expected = []
  for width in (batch, 200):  # The simulation's batches.
    scores = rng.random((posters, width))
    expected.append(pr_auc.auc_pr(*pr_auc.histograms(np.broadcast_to(labels, scores.shape),
                                                     scores, T)))
  np.testing.assert_array_equal(genre_judging.null_auc_pr(positives, posters, T, draws=draws),
                                np.concatenate(expected))


def test_the_chance_level_is_reproducible():
  genre_judging.chance_level.cache_clear()
  first = genre_judging.chance_level(40, 600, 0.99, T)
  genre_judging.chance_level.cache_clear()
  assert genre_judging.chance_level(40, 600, 0.99, T) == first


def _by_genre(judgements):
  return {j.genre: j for j in judgements}


def test_a_genre_is_judged_only_where_a_lost_one_can_be_told_from_a_retrain():
  genres = ('Drama', 'Mystery', 'Western', 'Horror')
  positives = (330, 40, 10, 40)
  served = {'Drama': 0.70, 'Mystery': 0.12, 'Western': 0.50, 'Horror': 0.35}
  judged = _by_genre(genre_judging.judge(genres, positives, 645, served, genres, **JUDGE))
  assert judged['Drama'].judged and judged['Horror'].judged
  assert judged['Horror'].tolerance == pytest.approx(0.5 / 40 ** 0.5)
  # Mystery's served AUC-PR less its tolerance is at chance: a candidate at chance would pass.
  assert not judged['Mystery'].judged
  assert 'chance level' in judged['Mystery'].reason
  assert not judged['Western'].judged and 'fewer than 30' in judged['Western'].reason
  assert [j.class_id for j in judged.values()] == [0, 1, 2, 3]


def test_without_a_served_model_no_genre_is_judged():
  judged = genre_judging.judge(('A', 'B'), (40, 5), 600, None, None, **JUDGE)
  assert [j.judged for j in judged] == [False, False]
  assert judged[0].reason == 'nothing is served yet'
  assert judged[0].served_pr_auc is None and not judged[0].comparable


def test_only_a_genre_the_level_can_decide_is_simulated(monkeypatch):
  simulated = []
  monkeypatch.setattr(genre_judging, 'chance_level',
                      lambda n, *args: simulated.append(n) or 0.1)
  # A first run: nothing served, so no genre's level can decide anything.
  first = genre_judging.judge(('A', 'B'), (40, 35), 600, None, None, **JUDGE)
  assert simulated == [] and all(np.isnan(j.chance_level) for j in first)
  judged = genre_judging.judge(('A', 'B', 'C'), (40, 5, 35), 600, {'A': 0.5}, ('A', 'B'),
                               **JUDGE)
  assert simulated == [40]
  assert judged[0].judged and judged[0].chance_level == 0.1
  assert np.isnan(judged[1].chance_level) and np.isnan(judged[2].chance_level)


def test_genres_are_compared_by_name_and_a_new_genre_is_not_judged():
  served_genres = ('Horror', 'Drama')  # another order, and no Sci-Fi
  judged = _by_genre(genre_judging.judge(
      ('Drama', 'Horror', 'Sci-Fi'), (300, 60, 60), 645, {'Drama': 0.7, 'Horror': 0.4},
      served_genres, **JUDGE))
  assert judged['Drama'].served_pr_auc == 0.7 and judged['Horror'].served_pr_auc == 0.4
  assert judged['Drama'].comparable and judged['Drama'].judged
  assert not judged['Sci-Fi'].comparable and not judged['Sci-Fi'].judged
  assert 'does not know' in judged['Sci-Fi'].reason


def test_a_served_model_without_a_record_weighs_no_genre():
  judged = genre_judging.judge(('A',), (40,), 600, None, ('A',), **JUDGE)
  assert not judged[0].judged and judged[0].comparable
  assert 'records no eval AUC-PR' in judged[0].reason


def test_refusals_follow_the_gate_thresholds():
  judgement = genre_judging.judge(('A',), (100,), 600, {'A': 0.5}, ('A',), **JUDGE)[0]
  level, allowed = judgement.chance_level, judgement.tolerance
  assert genre_judging.refused(judgement, 0.5, 0.5) == {'chance': False, 'regression': False}
  assert genre_judging.refused(judgement, 0.5 - allowed, 0.5)['regression'] is False
  assert genre_judging.refused(judgement, 0.5 - allowed - 1e-3, 0.5)['regression'] is True
  # As TFMA's bounds: a tie with the chance level passes, anything below it is refused.
  assert genre_judging.refused(judgement, level, None) == {'chance': False, 'regression': False}
  assert genre_judging.refused(judgement, level - 1e-6, None)['chance'] is True


def test_counts_must_match_the_genres():
  with pytest.raises(ValueError, match='3 positive counts for 4 genres'):
    genre_judging.judge(('A', 'B', 'C', 'D'), (1, 2, 3), 600, None, None, **JUDGE)
