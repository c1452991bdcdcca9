"""TFMA configuration: per-genre and macro-averaged metrics, and the push gate.

Labels are dense multi-hot vectors (`labels_xf` from the Transform graph), predictions one
sigmoid score per genre (`scores`). Per-genre metrics binarize by class id; macro averages
need `class_weights` (every genre weighs 1). The gate applies to macro averages only: a
per-genre floor would let one rare genre with a handful of eval posters veto every model.
"""
from typing import Dict, Optional

import tensorflow_model_analysis as tfma

from models import export
import transform_module

# Per-genre metrics, all at a 0.5 score threshold except the threshold-free AUC-PR.
_PER_GENRE_METRICS = ('Precision', 'Recall', 'F1Score', 'AUCPrecisionRecall')
GATED_METRIC = 'AUCPrecisionRecall'


def build_eval_config(num_genres: int, gate: Optional[Dict[str, float]] = None
                      ) -> tfma.EvalConfig:
  """`gate`: {'min_macro_pr_auc': floor, 'max_macro_pr_auc_regression': allowed drop vs the
  latest blessed model}. Without it, metrics are computed and nothing is gated (reporting)."""
  class_ids = list(range(num_genres))
  per_genre = tfma.MetricsSpec(
      metrics=[tfma.MetricConfig(class_name=name) for name in _PER_GENRE_METRICS],
      binarize=tfma.BinarizationOptions(class_ids={'values': class_ids}))
  macro_metrics = []
  for name in _PER_GENRE_METRICS:
    config = tfma.MetricConfig(class_name=name)
    if gate is not None and name == GATED_METRIC:
      config.threshold.CopyFrom(tfma.MetricThreshold(
          value_threshold=tfma.GenericValueThreshold(
              lower_bound={'value': gate['min_macro_pr_auc']}),
          change_threshold=tfma.GenericChangeThreshold(
              direction=tfma.MetricDirection.HIGHER_IS_BETTER,
              absolute={'value': -gate['max_macro_pr_auc_regression'] - 1e-10})))
    macro_metrics.append(config)
  # No `binarize` here: with it, a threshold would also apply to every genre's sub-key.
  macro = tfma.MetricsSpec(
      metrics=macro_metrics,
      aggregate=tfma.AggregationOptions(
          macro_average=True, class_weights={i: 1.0 for i in class_ids}))
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=export.TF_EXAMPLE_SIGNATURE,
          preprocessing_function_names=[export.TRANSFORM_SIGNATURE],
          label_key=transform_module.LABELS_XF,
          prediction_key=export.SCORES)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[per_genre, macro])
