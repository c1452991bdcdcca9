"""TFMA configuration: per-genre and macro-averaged metrics, slices, plots, and the push gate.

Labels are dense multi-hot vectors (`labels_xf` from the Transform graph). The model has two
outputs that matter here (models/export.py): `scores`, one sigmoid score per genre, and
`predicted`, the 0/1 decisions of the model's own per-genre decision rule. TFMA sees the model
as multi-output (no single `prediction_key`), so that:
  - threshold-free metrics (AUC-PR, calibration, the PR-curve and calibration plots) are
    computed on `scores`;
  - precision, recall and F1 are computed on `predicted` (binarized at 0.5, i.e. exactly the
    served decisions), so they are the numbers at the thresholds the model ships with.
Per-genre metrics binarize by class id; macro averages need `class_weights` (every genre
weighs 1). The gate applies to macro AUC-PR on `scores` only, on the overall slice: a per-genre
or per-slice floor would let one rare genre with a handful of posters veto every model.
"""
from typing import Dict, List, Optional

import tensorflow_model_analysis as tfma

from components.poster_example_gen import features
from models import export
import transform_module

GATED_METRIC = 'AUCPrecisionRecall'
# On `scores`: threshold-free.
SCORE_METRICS = (GATED_METRIC, 'Calibration')
# On `predicted`: the served decisions.
DECISION_METRICS = ('Precision', 'Recall', 'F1Score')
# Plot resolution: enough for a readable curve, small enough to keep the plots artifact (one
# plot per genre and slice) a few MB.
PR_CURVE_THRESHOLDS = 100
CALIBRATION_BUCKETS = 10

# One slice per value of each feature: the multivalent `genres` gives one slice per genre.
SLICE_FEATURES = (features.GENRES, features.N_GENRES, features.ASPECT_RATIO_BUCKET,
                  features.SIZE_BUCKET, features.BRIGHTNESS_BUCKET, features.COLOUR_MODE)
CROSS_SLICES = ((features.SIZE_BUCKET, features.BRIGHTNESS_BUCKET),)


def slicing_specs() -> List[tfma.SlicingSpec]:
  return ([tfma.SlicingSpec()]
          + [tfma.SlicingSpec(feature_keys=[name]) for name in SLICE_FEATURES]
          + [tfma.SlicingSpec(feature_keys=list(names)) for names in CROSS_SLICES])


def _gated(gate: Dict[str, float]) -> tfma.MetricThreshold:
  return tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(
          lower_bound={'value': gate['min_macro_pr_auc']}),
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
          absolute={'value': -gate['max_macro_pr_auc_regression'] - 1e-10}))


def build_eval_config(num_genres: int, gate: Optional[Dict[str, float]] = None,
                      sliced: bool = True) -> tfma.EvalConfig:
  """`gate`: {'min_macro_pr_auc': floor, 'max_macro_pr_auc_regression': allowed drop vs the
  latest blessed model}. Without it, metrics are computed and nothing is gated (reporting).
  `sliced`: every slice of `slicing_specs()` and the plots; without, the overall slice's
  metrics only (all the gate needs: slices and plots cost most of an evaluation's time).
  Keep the gate unsliced: TFMA applies a MetricConfig threshold to every slice, so a sliced
  gate fails on any small slice (seen: `n_genres = 3` vetoed a model)."""
  class_ids = list(range(num_genres))
  per_genre = tfma.BinarizationOptions(class_ids={'values': class_ids})
  # No `binarize` on the macro specs: with it, a threshold would also apply to every genre.
  macro = tfma.AggregationOptions(macro_average=True,
                                  class_weights={i: 1.0 for i in class_ids})
  macro_score_metrics = []
  for name in SCORE_METRICS:
    config = tfma.MetricConfig(class_name=name)
    if gate is not None and name == GATED_METRIC:
      config.threshold.CopyFrom(_gated(gate))
    macro_score_metrics.append(config)
  plots = [
      tfma.MetricConfig(class_name='ConfusionMatrixPlot',
                        config=f'"num_thresholds": {PR_CURVE_THRESHOLDS}'),
      tfma.MetricConfig(class_name='CalibrationPlot',
                        config=f'"num_buckets": {CALIBRATION_BUCKETS}'),
  ] if sliced else []
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=export.TF_EXAMPLE_SIGNATURE,
          preprocessing_function_names=[export.TRANSFORM_SIGNATURE],
          label_keys={export.SCORES: transform_module.LABELS_XF,
                      export.PREDICTED: transform_module.LABELS_XF})],
      slicing_specs=slicing_specs() if sliced else [tfma.SlicingSpec()],
      # The Keras model's compiled metrics know one output only; everything is listed here.
      options=tfma.Options(include_default_metrics={'value': False}),
      metrics_specs=[
          tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name='ExampleCount')],
                           output_names=[export.SCORES]),
          tfma.MetricsSpec(
              metrics=[tfma.MetricConfig(class_name=n) for n in SCORE_METRICS] + plots,
              output_names=[export.SCORES], binarize=per_genre),
          tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name=n) for n in DECISION_METRICS],
                           output_names=[export.PREDICTED], binarize=per_genre),
          tfma.MetricsSpec(metrics=macro_score_metrics, output_names=[export.SCORES],
                           aggregate=macro),
          tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name=n) for n in DECISION_METRICS],
                           output_names=[export.PREDICTED], aggregate=macro),
      ])
