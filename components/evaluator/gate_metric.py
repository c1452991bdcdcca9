"""A TFMA metric for the push gate's chance criterion: a genre's AUC-PR minus its prevalence.

A constant score ranks nothing, and its AUC-PR is the positives' share of the data: the
genre's prevalence. A genre "beats chance" when its AUC-PR exceeds that share on the very
posters it is evaluated on, so both are computed here, in the Evaluator, from the same
labels: `ap_over_chance = AUC-PR - mean label`, above 0 iff the model ranks the genre's
posters better than chance. components/evaluator/eval_config.py gates on it with a lower
bound of 0.
TFMA loads this module by name (MetricConfig.module) wherever the Evaluator runs.
"""
from typing import Any, Dict, Optional

from tensorflow_model_analysis.metrics import calibration
from tensorflow_model_analysis.metrics import confusion_matrix_metrics
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util
from tensorflow_model_analysis.proto import config_pb2

AP_OVER_CHANCE_NAME = 'ap_over_chance'


class APOverChance(metric_types.Metric):
  """AUC-PR minus the label prevalence, per class when binarized."""

  def __init__(self, name: str = AP_OVER_CHANCE_NAME):
    super().__init__(metric_util.merge_per_key_computations(_ap_over_chance), name=name)


def _ap_over_chance(
    name: str = AP_OVER_CHANCE_NAME,
    eval_config: Optional[config_pb2.EvalConfig] = None,
    model_name: str = '',
    output_name: str = '',
    sub_key: Optional[metric_types.SubKey] = None,
    aggregation_type: Optional[metric_types.AggregationType] = None,
    class_weights: Optional[Dict[int, float]] = None,
    example_weighted: bool = False) -> metric_types.MetricComputations:
  key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                               sub_key=sub_key, example_weighted=example_weighted)
  parts = (confusion_matrix_metrics.AUCPrecisionRecall(), calibration.MeanLabel())
  computations = []
  for part in parts:
    computations.extend(part.computations(
        eval_config=eval_config, model_names=[model_name], output_names=[output_name],
        sub_keys=[sub_key], aggregation_type=aggregation_type, class_weights=class_weights,
        example_weighted=example_weighted))
  ap_key, prevalence_key = (key._replace(name=part.name) for part in parts)

  def result(metrics: Dict[metric_types.MetricKey, Any]) -> Dict[metric_types.MetricKey, Any]:
    return {key: metrics[ap_key] - metrics[prevalence_key]}

  computations.append(metric_types.DerivedMetricComputation(keys=[key], result=result))
  return computations


metric_types.register_metric(APOverChance)
