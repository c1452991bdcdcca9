"""The gate's chance members of the vectorised metrics: each genre's AUC-PR less the chance
level of the positives and posters it saw, from the score combiner every member shares."""
import numpy as np
import pytest
from tensorflow_model_analysis.metrics import metric_types

from components.evaluator import genre_judging
from components.evaluator import genre_metrics
from models import pr_auc

T = pr_auc.GATE_THRESHOLDS
RESOLUTION = genre_metrics.Resolution(auc_thresholds=T)


def _examples(n=300, genres=4, seed=0):
  rng = np.random.default_rng(seed)
  labels = (rng.random((n, genres)) < [0.5, 0.2, 0.1, 0.3]).astype(np.float64)
  scores = np.clip(labels * 0.3 + rng.random((n, genres)) * 0.7, 0, 1)
  return labels, scores


def _computations(member, sub_keys, confidence=0.99):
  return member(confidence=confidence, **RESOLUTION.config()).computations(
      model_names=[''], output_names=['scores'],
      sub_keys=[metric_types.SubKey(class_id=i) for i in sub_keys])


def _evaluate(computations, labels, scores, parts=3):
  """Runs the combiner as Beam would (accumulators merged from parts) and the derived
  metrics on its output."""
  (totals,) = [c for c in computations if isinstance(c, metric_types.MetricComputation)]
  combiner = totals.combiner
  accumulators = []
  for rows in np.array_split(np.arange(len(labels)), parts):
    accumulator = combiner.create_accumulator()
    for row in rows:
      accumulator = combiner.add_input(accumulator, metric_types.StandardMetricInputs(
          labels=labels[row], predictions={'scores': scores[row]}, example_weights=None))
    accumulators.append(combiner.compact(accumulator))
  metrics = dict(combiner.extract_output(combiner.merge_accumulators(accumulators)))
  for derived in computations:
    if isinstance(derived, metric_types.DerivedMetricComputation):
      metrics.update(derived.result(metrics))
  return metrics


def _key(name, class_id):
  return metric_types.MetricKey(name=name, output_name='scores',
                                sub_key=metric_types.SubKey(class_id=class_id))


def test_each_genre_is_its_auc_pr_less_the_chance_level_of_its_counts():
  labels, scores = _examples()
  over = _evaluate(_computations(genre_metrics.GenreAPOverChance, [1, 3]), labels, scores)
  levels = _evaluate(_computations(genre_metrics.GenreChanceLevel, [1, 3]), labels, scores)
  expected_ap = pr_auc.auc_pr(*pr_auc.histograms(labels, scores, T))
  for class_id in (1, 3):
    level = genre_judging.chance_level(int(labels[:, class_id].sum()), len(labels), 0.99, T)
    assert levels[_key(genre_metrics.CHANCE_LEVEL_NAME, class_id)] == pytest.approx(level)
    assert over[_key(genre_metrics.AP_OVER_CHANCE_NAME, class_id)] == pytest.approx(
        expected_ap[class_id] - level)
  # Genres not in the spec get no metric of their own.
  assert _key(genre_metrics.AP_OVER_CHANCE_NAME, 0) not in over


def test_the_chance_members_share_the_score_combiner_of_every_member():
  # TFMA de-duplicates computations by key: one combiner counts every genre for the AUC-PR,
  # the calibration and the chance criterion of any number of judged genres' specs.
  def combiner_keys(member, sub_keys, **settings):
    return [c.keys for c in member(**settings, **RESOLUTION.config()).computations(
        model_names=[''], output_names=['scores'],
        sub_keys=[metric_types.SubKey(class_id=i) for i in sub_keys])
            if isinstance(c, metric_types.MetricComputation)]
  keys = combiner_keys(genre_metrics.GenreAUCPrecisionRecall, [0, 1, 2])
  assert combiner_keys(genre_metrics.GenreAPOverChance, [1], confidence=0.99) == keys
  assert combiner_keys(genre_metrics.GenreChanceLevel, [2], confidence=0.9) == keys


def test_noise_scores_fall_below_zero():
  labels, _ = _examples(n=600, seed=1)
  noise = np.random.default_rng(5).random(labels.shape)
  metrics = _evaluate(_computations(genre_metrics.GenreAPOverChance, [0, 1, 2, 3]), labels,
                      noise)
  over = [metrics[_key(genre_metrics.AP_OVER_CHANCE_NAME, i)] for i in range(4)]
  assert all(v < 0 for v in over)
