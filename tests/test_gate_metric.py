"""The gate's chance metric: every genre counted in one computation, each genre's AUC-PR less
the chance level of the positives and posters it saw."""
import numpy as np
import pytest
from tensorflow_model_analysis.metrics import metric_types

from components.evaluator import gate_metric
from components.evaluator import genre_judging
from models import pr_auc

T = pr_auc.GATE_THRESHOLDS


def _examples(n=300, genres=4, seed=0):
  rng = np.random.default_rng(seed)
  labels = (rng.random((n, genres)) < [0.5, 0.2, 0.1, 0.3]).astype(np.float64)
  scores = np.clip(labels * 0.3 + rng.random((n, genres)) * 0.7, 0, 1)
  return labels, scores


def _computations(sub_keys, confidence=0.99):
  return gate_metric.APOverChance(confidence=confidence).computations(
      model_names=[''], output_names=['scores'],
      sub_keys=[metric_types.SubKey(class_id=i) for i in sub_keys])


def _evaluate(computations, labels, scores, parts=3):
  """Runs the combiner as Beam would (accumulators merged from parts) and the derived
  metrics on its output."""
  (histograms,) = [c for c in computations if isinstance(c, metric_types.MetricComputation)]
  combiner = histograms.combiner
  accumulators = []
  for rows in np.array_split(np.arange(len(labels)), parts):
    accumulator = combiner.create_accumulator()
    for row in rows:
      accumulator = combiner.add_input(accumulator, metric_types.StandardMetricInputs(
          labels={'scores': labels[row]}, predictions={'scores': scores[row]},
          example_weights={'scores': np.array([1.0])}))
    accumulators.append(combiner.compact(accumulator))
  metrics = dict(combiner.extract_output(combiner.merge_accumulators(accumulators)))
  for derived in computations:
    if isinstance(derived, metric_types.DerivedMetricComputation):
      metrics.update(derived.result(metrics))
  return metrics


def test_each_genre_is_its_auc_pr_less_the_chance_level_of_its_counts():
  labels, scores = _examples()
  metrics = _evaluate(_computations([1, 3]), labels, scores)
  expected_ap = pr_auc.auc_pr(*pr_auc.histograms(labels, scores, T))
  for class_id in (1, 3):
    sub_key = metric_types.SubKey(class_id=class_id)
    level = genre_judging.chance_level(int(labels[:, class_id].sum()), len(labels), 0.99, T)
    key = metric_types.MetricKey(name=gate_metric.AP_OVER_CHANCE_NAME, output_name='scores',
                                 sub_key=sub_key)
    assert metrics[key._replace(name=gate_metric.CHANCE_LEVEL_NAME)] == pytest.approx(level)
    assert metrics[key] == pytest.approx(expected_ap[class_id] - level)
  # Genres not in the spec get no metric of their own.
  assert not any(k.sub_key == metric_types.SubKey(class_id=0) for k in metrics
                 if hasattr(k, 'sub_key'))


def test_specs_of_different_genres_share_one_histogram_computation():
  # TFMA de-duplicates computations by key: one combiner counts every genre, whatever the
  # number of judged genres' specs.
  first = [c for c in _computations([0]) if isinstance(c, metric_types.MetricComputation)]
  second = [c for c in _computations([2]) if isinstance(c, metric_types.MetricComputation)]
  assert first[0].keys == second[0].keys
  assert hash(first[0]) == hash(second[0]) and first[0] == second[0]


def test_noise_scores_fall_below_zero():
  labels, _ = _examples(n=600, seed=1)
  noise = np.random.default_rng(5).random(labels.shape)
  metrics = _evaluate(_computations([0, 1, 2, 3]), labels, noise)
  over = [v for k, v in metrics.items()
          if getattr(k, 'name', '') == gate_metric.AP_OVER_CHANCE_NAME]
  assert len(over) == 4 and all(v < 0 for v in over)


def test_a_genre_outside_the_scores_is_an_error():
  labels, scores = _examples()
  with pytest.raises(ValueError, match='class id 7'):
    _evaluate(_computations([7]), labels, scores)


def test_it_is_per_genre_only():
  with pytest.raises(ValueError, match='binarize'):
    gate_metric.APOverChance().computations(model_names=[''], output_names=[''],
                                            sub_keys=[None])
