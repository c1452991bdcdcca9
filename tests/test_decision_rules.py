"""bench/decision_rules.py: the candidate rules and the cross-fit, on synthetic scores."""
import numpy as np
import pytest

from bench import decision_rules
from models import metrics
from models import thresholds


def _labels_and_scores(seed: int = 0, posters: int = 300):
  rng = np.random.default_rng(seed)
  labels = (rng.uniform(size=(posters, 5)) < [0.5, 0.3, 0.2, 0.1, 0.05]).astype(np.int64)
  scores = 1 / (1 + np.exp(-(2 * labels - 1 + rng.normal(0, 1.2, labels.shape))))
  return labels, scores


def test_shrunk_rule_decides_by_the_shrunk_per_genre_thresholds():
  labels, scores = _labels_and_scores()
  own = thresholds.tune_per_genre_thresholds(labels, scores, min_genres=1, max_genres=3)
  cuts = thresholds.shrink(own, decision_rules.global_threshold(labels, scores),
                           labels.sum(axis=0), 10.0)
  np.testing.assert_array_equal(decision_rules.shrunk(10.0)(labels, scores)(scores),
                                thresholds.apply_rule(scores, cuts, 1, 3))


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
  alone = decision_rules.per_genre(np.concatenate([train_labels, labels]),
                                   np.concatenate([train_scores, scores]))
  np.testing.assert_array_equal(joined(scores), alone(scores))


def test_platt_calibration_fixes_a_miscalibrated_genre():
  rng = np.random.default_rng(2)
  labels = (rng.random((4000, 2)) < 0.2).astype(np.int64)
  # Genre 1 is overconfident: its logits are three times what they should be.
  true_logits = np.where(labels == 1, 1.0, -1.0) + rng.normal(0, 1.0, labels.shape)
  scores = 1 / (1 + np.exp(-true_logits * [1.0, 3.0]))
  calibrated = decision_rules.platt(labels, scores)(scores)
  for genre in range(2):
    high = calibrated[:, genre] > 0.8
    assert labels[high, genre].mean() == pytest.approx(calibrated[high, genre].mean(),
                                                       abs=0.06)
  # The calibration is monotone per genre: it leaves each genre's ranking alone.
  order = np.argsort(scores[:, 1])
  assert (np.diff(calibrated[order, 1]) >= 0).all()


def test_every_candidate_keeps_the_trainers_bounds():
  labels, scores = _labels_and_scores()
  for tuner in (decision_rules.margin_slots(10.0), decision_rules.margin_pulled(0.5),
                decision_rules.calibrated,
                decision_rules.tuned('base_rate'), *decision_rules.MEMBER_RULES.values()):
    counts = tuner(labels, scores)(scores).sum(axis=1)
    assert counts.min() >= decision_rules.RULE.min_genres
    assert counts.max() <= decision_rules.RULE.max_genres


def test_training_choices_change_only_their_knobs_of_the_pinned_settings(monkeypatch):
  for knobs in decision_rules.TRAINING_CHOICES.values():
    settings = decision_rules.training_settings(knobs)
    assert settings.trainer.head_hidden_units == decision_rules.RULE.head_hidden_units
    for knob, value in knobs.items():
      assert getattr(settings.trainer, knob, None) == value or getattr(settings, knob) == value
  assert decision_rules.TRAINING_CHOICES[decision_rules.DEFAULT_TRAINING] == {}
  stronger = decision_rules.training_settings(
      decision_rules.TRAINING_CHOICES['oversampler stronger (8 copies, growth 5)'])
  assert (stronger.oversample_max_copies, stronger.oversample_max_growth) == (8, 5.0)
  assert stronger.trainer.head_dropout == decision_rules.RULE.head_dropout
  # What a choice's head is trained with is exactly the settings handed to bench/lib.py.
  labels, scores = _labels_and_scores(posters=120)
  seen = []
  monkeypatch.setattr(decision_rules.lib, 'head_scores',
                      lambda arrays, seed, settings: seen.append(settings) or {
                          split: scores for split in ('eval', 'test')})
  arrays = {'eval_labels': labels, 'test_labels': labels}
  default = {split: scores for split in ('eval', 'test')}
  args = type('Args', (), {'eval_folds': 2, 'fold_assignments': 1, 'bootstrap': 5})()
  decision_rules.run_training_choices(arrays, default, args, seed=0)
  assert [s.oversample_max_copies for s in seen] == [
      knobs.get('oversample_max_copies', decision_rules.SETTINGS.oversample_max_copies)
      for knobs in decision_rules.TRAINING_CHOICES.values() if knobs]


def test_averaged_heads_are_the_first_n_of_one_seeds_heads(monkeypatch):
  labels, scores = _labels_and_scores(posters=120)
  rng = np.random.default_rng(3)
  heads = {}

  def head_scores(arrays, seed, settings):
    assert settings == decision_rules.SETTINGS
    heads[seed] = {split: np.clip(scores + rng.normal(0, 0.05, scores.shape), 0.01, 0.99)
                   for split in ('eval', 'test')}
    return heads[seed]

  monkeypatch.setattr(decision_rules.lib, 'head_scores', head_scores)
  arrays = {'eval_labels': labels, 'test_labels': labels}
  train_labels, train_scores = _labels_and_scores(seed=4, posters=200)
  arrays.update(train_labels=train_labels)
  out_of_fold = []
  monkeypatch.setattr(decision_rules, 'out_of_fold_scores',
                      lambda arrays, folds, seed: out_of_fold.append(seed) or train_scores)
  args = type('Args', (), {'eval_folds': 2, 'fold_assignments': 2, 'members': [1, 3],
                           'pulls': [0.5], 'train_folds': 3})()
  results = decision_rules.run_members(arrays, args, seed=2)
  assert out_of_fold == [2]
  # The largest number of heads is trained once, each from its own seed.
  assert set(heads) == {200, 201, 202}
  averaged = np.mean([heads[200 + m]['test'] for m in range(3)], axis=0)
  averaged_eval = np.mean([heads[200 + m]['eval'] for m in range(3)], axis=0)
  name = f"3 | {decision_rules.REFERENCE}"
  assert results[name]['test']['map'] == pytest.approx(
      decision_rules.stats.mean_average_precision(labels, averaged))
  assert len(results) == 2 * (len(decision_rules.MEMBER_RULES) + 1)
  # The 'margin' policy is tuned on eval with the out-of-fold train scores before it.
  pulled = results["3 | 'margin', pull 0.5, on eval + out-of-fold train scores"]
  tuned = thresholds.tune_margin_thresholds(
      np.concatenate([train_labels, labels]), np.concatenate([train_scores, averaged_eval]),
      1, 3, pull=0.5)
  assert pulled['test']['macro_f1'] == pytest.approx(decision_rules.metrics.macro_f1(
      labels, thresholds.apply_rule(averaged, tuned, 1, 3, 'margin'),
      decision_rules.stats.MIN_SUPPORT))
  macro_only = "1 | 'base_rate' for macro-F1 alone"
  assert 0.0 <= results[macro_only]['eval_macro_f1'] <= 1.0
