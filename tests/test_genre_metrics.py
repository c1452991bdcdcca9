"""components/evaluator/genre_metrics.py, as eval_config.py configures it, against the
built-in TFMA config it replaces.

Both configs run through TFMA's own evaluation and writers (TFMA's slicing, metrics
evaluator, macro averaging, model diffs, output files) on the same synthetic examples, the
model's outputs given as predictions (no SavedModel): every slice of the built-in config's
slicing specs, one model and two (candidate and baseline, as TFX's Evaluator names them).
"""
import math

import apache_beam as beam
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.extractors import slice_key_extractor
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.slicer import slicer_lib as slicer
from tensorflow_model_analysis.utils import config_util

from components.evaluator import eval_config
from components.evaluator import genre_metrics
from components.slice_report import evaluation
from contract import features
from models import export

COUNT_TOLERANCE = 1e-6
AUC_TOLERANCE = 1e-4
GENRES = 5
RESOLUTION = eval_config.resolution(sliced=True)
MODELS = (evaluation.CANDIDATE, evaluation.BASELINE)


def _examples(n=160, seed=0):
  """Extracts as TFMA's extractors leave them: features to slice on, labels and predictions
  per output (per model too with two models)."""
  rng = np.random.default_rng(seed)
  labels = (rng.uniform(size=(n, GENRES)) < [0.4, 0.3, 0.2, 0.1, 0.03]).astype(np.float32)
  labels[:3, 4] = 0  # a genre may have no poster in a slice
  scores = {}
  for model in MODELS:
    logits = rng.normal(size=(n, GENRES)) + 2 * labels - 1
    s = (1 / (1 + np.exp(-logits))).astype(np.float32)
    s[:4] = np.array([0.0, 1.0, 0.5, 0.001])[:, None]  # scores on thresholds and bucket edges
    scores[model] = s
  examples = []
  for i in range(n):
    names = [f'g{k}'.encode() for k in range(GENRES) if labels[i, k]] or [b'none']
    feats = {features.GENRES: np.array(names),
             features.N_GENRES: np.array([int(labels[i].sum())])}
    for name in (features.ASPECT_RATIO_BUCKET, features.SIZE_BUCKET,
                 features.BRIGHTNESS_BUCKET, features.COLOUR_MODE):
      feats[name] = np.array([rng.choice([b'a', b'b', b'c'])])
    examples.append((feats, labels[i], {m: scores[m][i] for m in MODELS}))
  return examples


def _extracts(examples, models):
  out = []
  for feats, label, scores in examples:
    # One model (unnamed) is the candidate.
    per_model = {m: {export.SCORES: scores[m or evaluation.CANDIDATE], export.PREDICTED:
                     (scores[m or evaluation.CANDIDATE] > 0.45).astype(np.float32)}
                 for m in models}
    labels = {export.SCORES: label, export.PREDICTED: label}
    out.append({
        constants.FEATURES_KEY: feats,
        constants.LABELS_KEY: ({m: labels for m in models} if len(models) > 1 else labels),
        constants.PREDICTIONS_KEY: (per_model if len(models) > 1 else per_model[models[0]]),
        constants.EXAMPLE_WEIGHTS_KEY: None,
    })
  return out


def _builtin_specs(class_ids):
  """TFMA's built-in metrics with the keys eval_config.py's members emit: one combiner per
  genre, metric, slice and model."""
  binarize = tfma.BinarizationOptions(class_ids={'values': list(class_ids)})
  macro = tfma.AggregationOptions(macro_average=True,
                                  class_weights={i: 1.0 for i in class_ids})
  auc = tfma.MetricConfig(class_name='AUCPrecisionRecall',
                          config=f'"num_thresholds": {eval_config.AUC_PR_THRESHOLDS}')
  scores = [auc, tfma.MetricConfig(class_name='Calibration')]
  plots = [tfma.MetricConfig(class_name='ConfusionMatrixPlot',
                             config=f'"num_thresholds": {eval_config.PR_CURVE_THRESHOLDS}'),
           tfma.MetricConfig(class_name='CalibrationPlot',
                             config=f'"num_buckets": {eval_config.CALIBRATION_BUCKETS}')]
  decisions = [tfma.MetricConfig(class_name=n) for n in ('Precision', 'Recall', 'F1Score')]
  return [
      tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name='ExampleCount')],
                       output_names=[export.SCORES]),
      tfma.MetricsSpec(metrics=scores + plots, output_names=[export.SCORES], binarize=binarize),
      tfma.MetricsSpec(metrics=decisions, output_names=[export.PREDICTED], binarize=binarize),
      tfma.MetricsSpec(metrics=scores, output_names=[export.SCORES], aggregate=macro),
      tfma.MetricsSpec(metrics=decisions, output_names=[export.PREDICTED], aggregate=macro),
  ]


def _ours():
  return eval_config.build_eval_config(GENRES).metrics_specs


def _config(metrics_specs, models):
  config = eval_config.build_eval_config(GENRES)
  del config.metrics_specs[:]
  config.metrics_specs.extend(metrics_specs)
  # As TFX's Evaluator does: with a baseline, TFMA names the models and fills the specs'
  # model names.
  return config_util.update_eval_config_with_defaults(config, has_baseline=len(models) > 1)


def _evaluate(config, extracts, path):
  """TFMA's metrics and plots of `extracts` under `config`, written to and read from `path`:
  {slice: {key: value}}, {slice: {key: plot}}."""
  with beam.Pipeline() as pipeline:
    _ = (pipeline
         | beam.Create(extracts, reshuffle=False)
         | slice_key_extractor.SliceKeyExtractor(eval_config=config).ptransform
         | tfma.evaluators.MetricsPlotsAndValidationsEvaluator(eval_config=config).ptransform
         | tfma.WriteResults(writers=tfma.default_writers(output_path=path,
                                                          eval_config=config)))
  metrics = {}
  for per_slice in tfma.load_metrics(path):
    metrics[slicer.deserialize_slice_key(per_slice.slice_key)] = {
        metric_types.MetricKey.from_proto(e.key): e.value for e in per_slice.metric_keys_and_values}
  plots = {}
  for per_slice in tfma.load_plots(path):
    plots[slicer.deserialize_slice_key(per_slice.slice_key)] = {
        metric_types.PlotKey.from_proto(e.key): e.value for e in per_slice.plot_keys_and_values}
  return metrics, plots


def _assert_same_metrics(ours, builtin):
  assert ours.keys() == builtin.keys()
  for slice_key, values in builtin.items():
    assert ours[slice_key].keys() == values.keys(), slice_key
    for key, value in values.items():
      got, want = ours[slice_key][key].double_value.value, value.double_value.value
      tolerance = AUC_TOLERANCE if 'auc' in key.name else COUNT_TOLERANCE
      assert (math.isnan(got) and math.isnan(want)) or abs(got - want) <= tolerance, (
          slice_key, key, got, want)


def _assert_same_plots(ours, builtin):
  assert ours.keys() == builtin.keys()
  for slice_key, plots in builtin.items():
    assert ours[slice_key].keys() == plots.keys(), slice_key
    for key, plot in plots.items():
      mine = ours[slice_key][key]
      if plot.HasField('calibration_histogram_buckets'):
        for a, b in zip(mine.calibration_histogram_buckets.buckets,
                        plot.calibration_histogram_buckets.buckets):
          assert a.lower_threshold_inclusive == b.lower_threshold_inclusive
          for field in ('num_weighted_examples', 'total_weighted_label',
                        'total_weighted_refined_prediction'):
            assert getattr(a, field).value == pytest.approx(getattr(b, field).value,
                                                            abs=COUNT_TOLERANCE), (key, field)
        assert (len(mine.calibration_histogram_buckets.buckets)
                == len(plot.calibration_histogram_buckets.buckets))
      else:
        mats, refs = (p.confusion_matrix_at_thresholds.matrices for p in (mine, plot))
        assert len(mats) == len(refs) == RESOLUTION.plot_thresholds + 2
        for a, b in zip(mats, refs):
          assert a.threshold == b.threshold
          for field in ('true_positives', 'false_positives', 'true_negatives',
                        'false_negatives', 'precision', 'recall'):
            assert getattr(a, field) == pytest.approx(getattr(b, field), abs=COUNT_TOLERANCE,
                                                      nan_ok=True), (key, field)


@pytest.fixture(scope='module')
def examples():
  return _examples()


@pytest.mark.parametrize('models', [('',), MODELS], ids=['one model', 'two models'])
def test_every_slice_metric_and_plot_equals_the_builtin_config(examples, models, tmp_path):
  extracts = _extracts(examples, models)
  builtin = _evaluate(_config(_builtin_specs(range(GENRES)), models), extracts,
                      str(tmp_path / 'builtin'))
  ours = _evaluate(_config(_ours(), models), extracts, str(tmp_path / 'ours'))
  _assert_same_metrics(ours[0], builtin[0])
  _assert_same_plots(ours[1], builtin[1])
  # Every slice of the built-in config's slicing specs was compared.
  assert len(ours[0]) > 20 and len(ours[1]) == len(ours[0])
  overall = ours[0][()]
  names = {k.name for k in overall}
  assert {'auc_precision_recall', 'calibration', 'precision', 'recall', 'f1_score',
          'example_count'} <= names
  if len(models) > 1:
    # TFMA's diffs (candidate - baseline) come with the family's keys as with the built-ins.
    assert any(k.is_diff and k.name == 'auc_precision_recall' and k.sub_key is not None
               for k in overall)


def test_with_a_served_model_only_the_candidate_gets_plots(examples, tmp_path):
  """The Evaluators' config with a baseline: every metric of both models, as the built-ins
  compute them, and the candidate's plots alone (nothing reads the served model's)."""
  extracts = _extracts(examples, MODELS)
  builtin = _evaluate(_config(_builtin_specs(range(GENRES)), MODELS), extracts,
                      str(tmp_path / 'builtin'))
  config = config_util.update_eval_config_with_defaults(
      eval_config.build_eval_config(GENRES, baseline_signature=export.EMBEDDING_SIGNATURE),
      has_baseline=True)
  ours = _evaluate(config, extracts, str(tmp_path / 'ours'))
  _assert_same_metrics(ours[0], builtin[0])
  candidate_plots = {slice_key: {k: v for k, v in plots.items()
                                 if k.model_name == evaluation.CANDIDATE}
                     for slice_key, plots in builtin[1].items()}
  assert all(candidate_plots.values())
  _assert_same_plots(ours[1], candidate_plots)


def test_folding_in_batches_changes_no_value(examples, tmp_path, monkeypatch):
  extracts = _extracts(examples, ('',))
  config = _config(_ours(), ('',))
  whole, _ = _evaluate(config, extracts, str(tmp_path / 'whole'))
  monkeypatch.setattr(genre_metrics, 'FOLD_EXAMPLES', 7)
  batched, _ = _evaluate(config, extracts, str(tmp_path / 'batched'))
  _assert_same_metrics(batched, whole)


def test_a_spec_without_class_ids_is_refused():
  with pytest.raises(ValueError, match='class ids'):
    genre_metrics.GenreAUCPrecisionRecall(**RESOLUTION.config()).computations(
        output_names=[export.SCORES])
