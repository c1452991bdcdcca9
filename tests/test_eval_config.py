"""EvalConfig: what the reports slice on, what the gate checks, and on which model output."""
from components.poster_example_gen import features
from models import export
from pipeline import eval_config

GATE = {'min_macro_pr_auc': 0.1, 'max_macro_pr_auc_regression': 0.0}


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
  for name in ('Precision', 'Recall', 'F1Score'):
    assert ((export.PREDICTED,), name, True, False, False) in metrics
    assert ((export.PREDICTED,), name, False, True, False) in metrics
  for name in ('AUCPrecisionRecall', 'ConfusionMatrixPlot', 'CalibrationPlot'):
    assert ((export.SCORES,), name, True, False, False) in metrics
  assert not any(threshold for *_, threshold in metrics)


def test_the_gate_is_macro_auc_pr_on_scores_on_the_overall_slice_only():
  config = eval_config.build_eval_config(5, gate=GATE, sliced=False)
  assert [tuple(spec.feature_keys) for spec in config.slicing_specs] == [()]
  gated = [m for m in _metrics(config) if m[-1]]
  assert gated == [((export.SCORES,), 'AUCPrecisionRecall', False, True, True)]
  assert not any('Plot' in name for _, name, *_ in _metrics(config))
