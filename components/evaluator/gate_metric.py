"""A TFMA metric for the push gate's chance criterion: a genre's AUC-PR above its chance level.

The chance level is not the prevalence: random scores rank a genre's positives at random, and
the AUC-PR of a random ranking sits above the positives' share, the more so the fewer they are
(components/evaluator/genre_judging.py). So, per genre (class id) of its spec, this metric
emits
  `chance_level`    the `confidence` quantile of the AUC-PR of random scores for the positives
                    and posters this evaluation saw (the Evaluator's own labels), and
  `ap_over_chance`  the genre's AUC-PR (TFMA's, at `num_thresholds`) less that level, which
                    the gate requires above 0 (eval_config.py).
Every genre's counts come from one histogram computation per model and output that updates all
genres of an example in one numpy call; TFMA computes it once however many specs ask for
it (its computations are de-duplicated by key), and each spec's metric only reads its own
genres out of it.
TFMA loads this module by name (MetricConfig.module) wherever the Evaluator runs.
"""
from typing import Any, Dict, Iterable, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util
from tensorflow_model_analysis.proto import config_pb2

from components.evaluator import genre_judging
from models import pr_auc

AP_OVER_CHANCE_NAME = 'ap_over_chance'
CHANCE_LEVEL_NAME = 'chance_level'
# Examples buffered before their histograms are updated in one call.
_BATCH = 256


class _Accumulator:
  """Every genre's threshold-bucket histograms, and examples not yet counted into them."""

  def __init__(self):
    self.labels: List[np.ndarray] = []
    self.scores: List[np.ndarray] = []
    self.positives: Optional[np.ndarray] = None  # [G, T]
    self.negatives: Optional[np.ndarray] = None

  def flush(self, num_thresholds: int) -> None:
    if not self.labels:
      return
    positives, negatives = pr_auc.histograms(np.stack(self.labels), np.stack(self.scores),
                                             num_thresholds)
    self.labels, self.scores = [], []
    self.add(positives, negatives)

  def add(self, positives: Optional[np.ndarray], negatives: Optional[np.ndarray]) -> None:
    if positives is None:
      return
    if self.positives is None:
      self.positives, self.negatives = positives, negatives
    elif positives.shape != self.positives.shape:
      raise ValueError(f'Examples with {positives.shape[0]} and {self.positives.shape[0]} '
                       'genres in one evaluation.')
    else:
      self.positives = self.positives + positives
      self.negatives = self.negatives + negatives


class _GenreHistogramsCombiner(beam.CombineFn):
  """(positives, negatives) [G, T]: every genre's labels per threshold bucket of its score."""

  def __init__(self, key: metric_types.MetricKey,
               eval_config: Optional[config_pb2.EvalConfig], num_thresholds: int):
    self._key = key
    self._eval_config = eval_config
    self._num_thresholds = num_thresholds

  def create_accumulator(self) -> _Accumulator:
    return _Accumulator()

  def add_input(self, accumulator: _Accumulator,
                element: metric_types.StandardMetricInputs) -> _Accumulator:
    for label, prediction, _ in metric_util.to_label_prediction_example_weight(
        element, eval_config=self._eval_config, model_name=self._key.model_name,
        output_name=self._key.output_name, flatten=False, squeeze=False):
      accumulator.labels.append(np.asarray(label, np.float64).reshape(-1))
      accumulator.scores.append(np.asarray(prediction, np.float64).reshape(-1))
    if len(accumulator.labels) >= _BATCH:
      accumulator.flush(self._num_thresholds)
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[_Accumulator]) -> _Accumulator:
    accumulators = iter(accumulators)
    result = next(accumulators)
    result.flush(self._num_thresholds)
    for accumulator in accumulators:
      accumulator.flush(self._num_thresholds)
      result.add(accumulator.positives, accumulator.negatives)
    return result

  def compact(self, accumulator: _Accumulator) -> _Accumulator:
    accumulator.flush(self._num_thresholds)
    return accumulator

  def extract_output(self, accumulator: _Accumulator) -> Dict[metric_types.MetricKey, Any]:
    accumulator.flush(self._num_thresholds)
    return {self._key: (accumulator.positives, accumulator.negatives)}


class APOverChance(metric_types.Metric):
  """Per class id of its spec: AUC-PR less the chance level, and the chance level."""

  def __init__(self, confidence: float = 0.99,
               num_thresholds: int = pr_auc.GATE_THRESHOLDS,
               name: str = AP_OVER_CHANCE_NAME):
    super().__init__(_ap_over_chance, confidence=confidence, num_thresholds=num_thresholds,
                     name=name)


def _ap_over_chance(
    confidence: float,
    num_thresholds: int,
    name: str = AP_OVER_CHANCE_NAME,
    eval_config: Optional[config_pb2.EvalConfig] = None,
    model_names: Optional[List[str]] = None,
    output_names: Optional[List[str]] = None,
    sub_keys: Optional[List[Optional[metric_types.SubKey]]] = None,
    aggregation_type: Optional[metric_types.AggregationType] = None,
    example_weighted: bool = False) -> metric_types.MetricComputations:
  if example_weighted or aggregation_type is not None:
    raise ValueError(f'{name} is per genre and counts posters: no averaging, no weights.')
  computations = []
  for model_name in model_names or ['']:
    for output_name in output_names or ['']:
      histograms_key = metric_types.MetricKey(
          name=f'_genre_histograms_{num_thresholds}', model_name=model_name,
          output_name=output_name)
      computations.append(metric_types.MetricComputation(
          keys=[histograms_key], preprocessors=None,
          combiner=_GenreHistogramsCombiner(histograms_key, eval_config, num_thresholds)))
      keys = {}
      for sub_key in sub_keys or [None]:
        if sub_key is None or sub_key.class_id is None:
          raise ValueError(f'{name} is per genre: binarize its spec by class id.')
        keys[sub_key.class_id] = tuple(
            metric_types.MetricKey(name=n, model_name=model_name, output_name=output_name,
                                   sub_key=sub_key)
            for n in (name, CHANCE_LEVEL_NAME))

      def result(metrics: Dict[metric_types.MetricKey, Any], histograms_key=histograms_key,
                 keys=keys) -> Dict[metric_types.MetricKey, float]:
        positives, negatives = metrics[histograms_key]
        values = {}
        for class_id, (over_key, level_key) in keys.items():
          if positives is None or class_id >= positives.shape[0]:
            raise ValueError(f'No scores for class id {class_id} in {histograms_key}.')
          n = int(round(positives[class_id].sum()))
          posters = int(round(n + negatives[class_id].sum()))
          level = (genre_judging.chance_level(n, posters, confidence, num_thresholds)
                   if n else float('nan'))
          values[level_key] = level
          values[over_key] = float(pr_auc.auc_pr(positives[class_id],
                                                 negatives[class_id])) - level
        return values

      computations.append(metric_types.DerivedMetricComputation(
          keys=[key for pair in keys.values() for key in pair], result=result))
  return computations


metric_types.register_metric(APOverChance)
