"""EvalConfig: what the reports slice on, what the gate checks, and on which model output."""
import json

import pytest

from components.evaluator import eval_config
from components.evaluator import genre_judging
from components.evaluator.gate_config import GateConfig
from contract import features
from models import export

GATE = GateConfig(min_macro_pr_auc=0.1, max_macro_pr_auc_regression=0.01,
                  genre_drop_scale=0.9, min_eval_positives=30)
GENRES = ('Drama', 'Comedy', 'Western', 'News')
EVAL_POSITIVES = (50, 40, 4, 29)
SERVED_PR_AUC = {'Drama': 0.8, 'Comedy': 0.7, 'Western': 0.9, 'News': 0.9}


def _metrics(config):
  return [(tuple(spec.output_names), metric.class_name, spec.HasField('binarize'),
           spec.HasField('aggregate'), metric.HasField('threshold'))
          for spec in config.metrics_specs for metric in spec.metrics]


def test_report_slices_cover_genres_poster_buckets_and_a_cross():
  keys = [tuple(spec.feature_keys) for spec in eval_config.build_eval_config(5).slicing_specs]
  assert keys[0] == ()
  for name in (features.GENRES, features.N_GENRES, features.ASPECT_RATIO_BUCKET,
               features.SIZE_BUCKET, features.BRIGHTNESS_BUCKET, features.COLOUR_MODE):
    assert (name,) in keys
  assert any(len(key) == 2 for key in keys)


def test_decisions_are_measured_on_predicted_and_ranking_on_scores():
  metrics = _metrics(eval_config.build_eval_config(5))
  for name in ('GenrePrecision', 'GenreRecall', 'GenreF1Score'):
    assert ((export.PREDICTED,), name, True, False, False) in metrics
    assert ((export.PREDICTED,), name, False, True, False) in metrics
  for name in ('GenreAUCPrecisionRecall', 'GenreConfusionMatrixPlot', 'GenreCalibrationPlot'):
    assert ((export.SCORES,), name, True, False, False) in metrics
  assert not any(threshold for *_, threshold in metrics)


def _judged(served_genres=GENRES):
  judgements = genre_judging.judge(
      GENRES, EVAL_POSITIVES, 200, SERVED_PR_AUC, served_genres,
      min_eval_positives=GATE.min_eval_positives, genre_drop_scale=GATE.genre_drop_scale,
      chance_confidence=GATE.chance_confidence, num_thresholds=eval_config.AUC_PR_THRESHOLDS)
  return [genre for genre in judgements if genre.judged]


def test_judged_genres_have_enough_eval_posters_and_a_tolerance_shrinking_with_them():
  judged = _judged()
  assert [(g.class_id, g.genre, g.eval_positives) for g in judged] == [
      (0, 'Drama', 50), (1, 'Comedy', 40)]
  assert judged[0].tolerance == pytest.approx(0.9 / 50 ** 0.5)
  assert judged[1].tolerance > judged[0].tolerance


def _thresholds(config):
  """{(output, metric, class ids or 'macro'): threshold} of every gated metric."""
  found = {}
  for spec in config.metrics_specs:
    for metric in spec.metrics:
      if metric.HasField('threshold'):
        subject = (tuple(spec.binarize.class_ids.values) if spec.HasField('binarize')
                   else 'macro')
        found[(tuple(spec.output_names), metric.class_name, subject)] = (
            metric.module, metric.threshold)
  return found


def test_the_gate_judges_each_genre_and_the_macro_average_on_the_overall_slice_only():
  judged = _judged()
  config = eval_config.build_eval_config(4, gate=GATE, judged=judged, sliced=False)
  assert [tuple(spec.feature_keys) for spec in config.slicing_specs] == [()]
  assert not any('Plot' in name for _, name, *_ in _metrics(config))
  thresholds = _thresholds(config)
  scores = (export.SCORES,)
  assert set(thresholds) == {
      (scores, 'GenreAUCPrecisionRecall', 'macro'),
      (scores, 'GenreAUCPrecisionRecall', (0,)), (scores, 'GenreAPOverChance', (0,)),
      (scores, 'GenreAUCPrecisionRecall', (1,)), (scores, 'GenreAPOverChance', (1,))}
  _, macro = thresholds[(scores, 'GenreAUCPrecisionRecall', 'macro')]
  assert macro.value_threshold.lower_bound.value == 0.1
  assert macro.change_threshold.absolute.value == pytest.approx(-0.01)
  for genre in judged:
    _, drop = thresholds[(scores, 'GenreAUCPrecisionRecall', (genre.class_id,))]
    assert drop.change_threshold.absolute.value == pytest.approx(-genre.tolerance)
    assert not drop.HasField('value_threshold')
    module, chance = thresholds[(scores, 'GenreAPOverChance', (genre.class_id,))]
    assert module == 'components.evaluator.genre_metrics'
    assert chance.value_threshold.lower_bound.value == 0.0


def test_the_chance_metric_gets_the_gate_confidence_and_no_second_auc_pr():
  config = eval_config.build_eval_config(4, gate=GATE, judged=_judged(), sliced=False)
  chance = [json.loads(m.config) for spec in config.metrics_specs for m in spec.metrics
            if m.class_name in ('GenreAPOverChance', 'GenreChanceLevel')]
  assert len(chance) == 4
  assert all(c['confidence'] == GATE.chance_confidence
             and c['auc_thresholds'] == eval_config.AUC_PR_THRESHOLDS for c in chance)
  # Every genre's AUC-PR once: judged ones in their gate spec, the others in one spec.
  per_genre = [class_id for spec in config.metrics_specs for m in spec.metrics
               if m.class_name == 'GenreAUCPrecisionRecall' and spec.HasField('binarize')
               for class_id in spec.binarize.class_ids.values]
  assert sorted(per_genre) == [0, 1, 2, 3]


def test_a_genre_the_served_model_does_not_know_is_not_compared():
  # The served model knows Drama only: Comedy is new, so it is neither judged nor in the
  # macro comparison.
  judged = _judged(served_genres=('Drama',))
  assert [g.genre for g in judged] == ['Drama']
  config = eval_config.build_eval_config(4, gate=GATE, judged=judged, macro_class_ids=[0],
                                         sliced=False)
  macros = [dict(spec.aggregate.class_weights) for spec in config.metrics_specs
            if spec.HasField('aggregate')]
  assert macros and all(weights == {0: 1.0} for weights in macros)


def test_unjudged_genres_keep_their_reported_auc_pr_without_a_threshold():
  judged = _judged()
  config = eval_config.build_eval_config(4, gate=GATE, judged=judged, sliced=False)
  unthresholded = [tuple(spec.binarize.class_ids.values) for spec in config.metrics_specs
                   for m in spec.metrics
                   if m.class_name == 'GenreAUCPrecisionRecall' and not m.HasField('threshold')
                   and spec.HasField('binarize')]
  assert unthresholded == [(2, 3)]


def test_judged_genres_need_the_gate():
  with pytest.raises(ValueError, match='gate'):
    eval_config.build_eval_config(
        4, judged=_judged())


def test_every_score_metric_shares_one_resolution_and_the_model_loads_as_a_saved_model():
  gate = GateConfig()
  judged = [genre for genre in genre_judging.judge(
      ['A', 'B', 'C'], [40, 5, 31], 300, {'A': 0.9, 'B': 0.9, 'C': 0.9}, ['A', 'B', 'C'],
      min_eval_positives=gate.min_eval_positives, genre_drop_scale=gate.genre_drop_scale,
      chance_confidence=gate.chance_confidence,
      num_thresholds=eval_config.AUC_PR_THRESHOLDS) if genre.judged]
  assert len(judged) == 2
  for config in (eval_config.build_eval_config(3, gate=gate, judged=judged, sliced=False),
                 eval_config.build_eval_config(3)):
    resolutions = {json.dumps({k: v for k, v in json.loads(metric.config).items()
                               if k != 'confidence'})
                   for spec in config.metrics_specs for metric in spec.metrics
                   if spec.output_names == [export.SCORES] and metric.config}
    # One score combiner per model and slice: every member carries the same settings.
    assert resolutions == {json.dumps(eval_config.resolution(sliced=config is not None
                                                             and len(config.slicing_specs) > 1
                                                             ).config(), sort_keys=True)}
    assert config.model_specs[0].model_type == 'tf_generic'


def test_the_served_model_is_measured_but_not_plotted():
  plotted = ('GenreConfusionMatrixPlot', 'GenreCalibrationPlot')
  for baseline, plot_models in ((None, []), (export.EMBEDDING_SIGNATURE, ['candidate'])):
    config = eval_config.build_eval_config(5, baseline_signature=baseline)
    for spec in config.metrics_specs:
      names = {metric.class_name for metric in spec.metrics}
      # Plots share no spec with a metric: the spec's models are the plots' alone.
      assert names <= set(plotted) or not names & set(plotted)
      assert list(spec.model_names) == (plot_models if names <= set(plotted) else [])
  assert not any(metric.class_name in plotted
                 for spec in eval_config.build_eval_config(5, sliced=False).metrics_specs
                 for metric in spec.metrics)
