"""Vectorised per-genre TFMA metrics: every genre's counts updated at once, one combiner per output.

TFMA's built-in metrics, binarized per class id, run one combiner per genre, slice, model and
metric, each turning every example into labels and predictions again
(`to_label_prediction_example_weight`): most of the TestEvaluator's time in a profile
(`git show 014bf2f:BENCHMARKS.md`, "Continuous training"). This family computes the same values from two combiners per model
and slice, whatever the number of genres and metrics: one on the `scores` output (rebinned
score histograms for AUC-PR and the PR plot, calibration buckets and totals), one on the
`predicted` output (confusion counts at the decision threshold). Each combiner buffers the
examples' label and prediction vectors and folds them into per-genre numpy counts a batch at
a time (models/pr_auc.py does TFMA's arithmetic), since TFMA hands combiners one
example at a time.

Every member metric emits exactly the keys and value types of the built-in it replaces, named
as it is (`auc_precision_recall`, `calibration`, `precision`, ..., the plots), one sub_key per
class id of its MetricsSpec's `binarize`, so TFMA's own macro averaging, model diffs,
thresholds, writers and `tfma.load_eval_result` treat them as the built-ins
(tests/test_genre_metrics.py runs both configs through TFMA and compares). Members of one
output share their combiner when their configs carry the same settings (`metrics_specs`
makes them so): TFMA deduplicates computations by combiner key.
TFMA loads this module by name (MetricConfig.module) wherever the Evaluator runs.
"""
import dataclasses
import json
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import binary_confusion_matrices
from tensorflow_model_analysis.metrics import calibration_histogram
from tensorflow_model_analysis.metrics import calibration_plot
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util
from tensorflow_model_analysis.proto import config_pb2
from tensorflow_model_analysis.utils import util

from components.evaluator import genre_judging
from models import pr_auc

# Examples a combiner buffers before folding them into its counts: large enough that the
# numpy calls' overhead vanishes, small enough to keep an accumulator a few hundred KB.
FOLD_EXAMPLES = 512
# The built-ins' decision threshold (ConfusionMatrixMetric's default): `predicted` is 0 or 1.
DECISION_THRESHOLD = 0.5

_SCORE_TOTALS_NAME = '_genre_score_totals'
_DECISION_TOTALS_NAME = '_genre_decision_totals'
AP_OVER_CHANCE_NAME = 'ap_over_chance'
CHANCE_LEVEL_NAME = 'chance_level'


@dataclasses.dataclass(frozen=True)
class Resolution:
  """The score combiner's settings, shared by every member on the scores output.

  `auc_thresholds`: AUCPrecisionRecall's num_thresholds; `plot_thresholds`:
  ConfusionMatrixPlot's; `calibration_buckets`: CalibrationPlot's num_buckets (0: no plot).
  """
  auc_thresholds: int
  plot_thresholds: int = 0
  calibration_buckets: int = 0

  def config(self) -> Dict[str, int]:
    return dataclasses.asdict(self)


_RESOLUTION_FIELDS = frozenset(field.name for field in dataclasses.fields(Resolution))


def _lookup(value: Any, key: str) -> Any:
  """`value[key]` when `value` is a dict holding it, else `value` (TFMA's optional lookup:
  labels and weights are per model or output only when they differ)."""
  if key and isinstance(value, dict) and key in value:
    return value[key]
  return value


def _vectors(element: metric_types.StandardMetricInputs, model_name: str, output_name: str,
             example_weighted: bool):
  """(labels [K], predictions [K], weight) of one example for one model's output."""
  prediction = element.prediction
  if model_name:
    prediction = util.get_by_keys(prediction, [model_name])
  if output_name:
    prediction = util.get_by_keys(prediction, [output_name])
  label = _lookup(_lookup(element.label, model_name), output_name)
  weight = 1.0
  if example_weighted and element.example_weight is not None:
    weight = float(np.asarray(_lookup(_lookup(element.example_weight, model_name),
                                      output_name)).reshape(()))
  label = np.asarray(label, dtype=np.float64).reshape(-1)
  prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
  if label.shape != prediction.shape:
    raise ValueError(f'{label.size} labels for {prediction.size} predictions of '
                     f'{model_name or "the model"}/{output_name}: genre metrics need one '
                     'multi-hot label per class.')
  return label, prediction, weight


class _Accumulator:
  """Per-class counts (`totals`, arrays with the class as first axis) and the examples not
  folded into them yet."""
  __slots__ = ('totals', 'labels', 'predictions', 'weights')

  def __init__(self):
    self.totals: Optional[Dict[str, np.ndarray]] = None
    self.labels: List[np.ndarray] = []
    self.predictions: List[np.ndarray] = []
    self.weights: List[float] = []


class _FoldingCombiner(beam.CombineFn):
  """Buffers each example's vectors, folds them `FOLD_EXAMPLES` at a time into the totals
  `_fold` computes for a batch ([N, K] labels and predictions, [N] weights); totals of
  disjoint batches add up."""

  def __init__(self, key: metric_types.MetricKey):
    self._key = key

  def _fold(self, labels: np.ndarray, predictions: np.ndarray,
            weights: np.ndarray) -> Dict[str, np.ndarray]:
    raise NotImplementedError

  def _flush(self, accumulator: _Accumulator) -> _Accumulator:
    if accumulator.labels:
      folded = self._fold(np.stack(accumulator.labels), np.stack(accumulator.predictions),
                          np.asarray(accumulator.weights))
      accumulator.totals = (folded if accumulator.totals is None else
                            {k: v + folded[k] for k, v in accumulator.totals.items()})
      accumulator.labels, accumulator.predictions, accumulator.weights = [], [], []
    return accumulator

  def create_accumulator(self) -> _Accumulator:
    return _Accumulator()

  def add_input(self, accumulator: _Accumulator,
                element: metric_types.StandardMetricInputs) -> _Accumulator:
    label, prediction, weight = _vectors(element, self._key.model_name, self._key.output_name,
                                         self._key.example_weighted)
    accumulator.labels.append(label)
    accumulator.predictions.append(prediction)
    accumulator.weights.append(weight)
    if len(accumulator.labels) >= FOLD_EXAMPLES:
      self._flush(accumulator)
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[_Accumulator]) -> _Accumulator:
    result = _Accumulator()
    for accumulator in accumulators:
      if accumulator.totals is not None:
        result.totals = (dict(accumulator.totals) if result.totals is None else
                         {k: v + accumulator.totals[k] for k, v in result.totals.items()})
      result.labels.extend(accumulator.labels)
      result.predictions.extend(accumulator.predictions)
      result.weights.extend(accumulator.weights)
      if len(result.labels) >= FOLD_EXAMPLES:
        self._flush(result)
    return result

  def compact(self, accumulator: _Accumulator) -> _Accumulator:
    # Before an accumulator is shuffled: the totals are smaller than a batch of vectors.
    return self._flush(accumulator)

  def extract_output(self, accumulator: _Accumulator) -> Dict[metric_types.MetricKey, Any]:
    return {self._key: self._flush(accumulator).totals}


class _ScoreTotalsCombiner(_FoldingCombiner):
  """Per class: AUC-PR's and the PR plot's threshold-bucket histograms (positives,
  negatives), CalibrationPlot's buckets and the weighted label, prediction and example
  totals."""

  def __init__(self, key: metric_types.MetricKey, resolution: Resolution):
    super().__init__(key)
    self._resolution = resolution

  def _fold(self, labels, predictions, weights):
    res = self._resolution
    weighted_labels = labels * weights[:, None]
    weighted_predictions = predictions * weights[:, None]
    examples = np.broadcast_to(weights[:, None], labels.shape)
    totals = {'labels': weighted_labels.sum(0), 'predictions': weighted_predictions.sum(0),
              'examples': examples.sum(0)}
    totals['auc_positives'], totals['auc_negatives'] = pr_auc.histograms(
        labels, predictions, res.auc_thresholds, weights)
    if res.plot_thresholds:
      totals['plot_positives'], totals['plot_negatives'] = pr_auc.histograms(
          labels, predictions, example_weights=weights,
          thresholds=pr_auc.plot_thresholds(res.plot_thresholds))
    if res.calibration_buckets:
      buckets = pr_auc.calibration_plot_buckets(predictions, res.calibration_buckets)
      width = res.calibration_buckets + 2
      totals['calibration_labels'] = pr_auc.bucket_counts(buckets, weighted_labels, width)
      totals['calibration_predictions'] = pr_auc.bucket_counts(
          buckets, weighted_predictions, width)
      totals['calibration_examples'] = pr_auc.bucket_counts(buckets, examples, width)
    return totals


class _DecisionTotalsCombiner(_FoldingCombiner):
  """Per class: TP, FP, TN, FN of the decisions at `DECISION_THRESHOLD` (prediction >
  threshold; fractional labels count as that share of a positive, as in TFMA)."""

  def _fold(self, labels, predictions, weights):
    decided = predictions > DECISION_THRESHOLD
    positive = labels * weights[:, None]
    negative = (1.0 - labels) * weights[:, None]
    return {'tp': (positive * decided).sum(0), 'fn': (positive * ~decided).sum(0),
            'fp': (negative * decided).sum(0), 'tn': (negative * ~decided).sum(0)}


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
  """numerator / denominator, NaN where the denominator is not positive (TFMA's
  _divide_only_positive_denominator)."""
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                    np.nan)


def _ratio_unless_close_to_zero(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
  """numerator / denominator, NaN where the denominator is close to 0 (calibration.py)."""
  close = np.isclose(denominator, 0.0)
  return np.where(close, np.nan, numerator / np.where(close, 1.0, denominator))


class _GenreMetric(metric_types.Metric):
  """A member of the family: one value per class id of its spec, from its output's totals.

  Subclasses set `_values`; on the scores output they take the `Resolution` settings as
  config."""
  _DECISIONS = False
  _PLOT = False

  def __init__(self, name: str, **settings):
    super().__init__(self._computations, name=name, **settings)

  def computations(self, eval_config: Optional[config_pb2.EvalConfig] = None, schema=None,
                   model_names: Optional[List[str]] = None,
                   output_names: Optional[List[str]] = None,
                   sub_keys: Optional[List[Optional[metric_types.SubKey]]] = None,
                   aggregation_type: Optional[metric_types.AggregationType] = None,
                   class_weights: Optional[Dict[int, float]] = None,
                   example_weighted: bool = False,
                   query_key: Optional[str] = None) -> metric_types.MetricComputations:
    del eval_config, schema, class_weights, query_key
    if not sub_keys or any(k is None or k.class_id is None for k in sub_keys):
      raise ValueError(f'{type(self).__name__} needs the class ids in its MetricsSpec '
                       f'(binarize or macro class_weights), got sub_keys {sub_keys}.')
    return self._computations(model_names=model_names or [''],
                              output_names=output_names or [''], sub_keys=sub_keys,
                              aggregation_type=aggregation_type,
                              example_weighted=example_weighted, **self.kwargs)

  def _combiner(self, key: metric_types.MetricKey, settings: Dict[str, Any]) -> beam.CombineFn:
    if self._DECISIONS:
      return _DecisionTotalsCombiner(key)
    return _ScoreTotalsCombiner(key, Resolution(**settings))

  def _totals_settings(self, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The settings that shape the combiner (a member's own, like a confidence, do not)."""
    return {k: v for k, v in settings.items() if k in _RESOLUTION_FIELDS}

  def _values(self, totals: Dict[str, np.ndarray], class_ids: np.ndarray) -> Sequence[Any]:
    """The value for each class of `class_ids`, from its output's totals."""
    raise NotImplementedError

  def _computations(self, model_names: List[str], output_names: List[str],
                    sub_keys: List[metric_types.SubKey],
                    aggregation_type: Optional[metric_types.AggregationType],
                    example_weighted: bool, name: str,
                    **settings) -> metric_types.MetricComputations:
    computations = []
    settings = self._totals_settings(settings)
    class_ids = np.array([k.class_id for k in sub_keys])
    key_type = metric_types.PlotKey if self._PLOT else metric_types.MetricKey
    for model_name in model_names:
      for output_name in output_names:
        totals_key = metric_types.MetricKey(
            name=metric_util.generate_private_name_from_arguments(
                _DECISION_TOTALS_NAME if self._DECISIONS else _SCORE_TOTALS_NAME,
                **({} if self._DECISIONS else settings)),
            model_name=model_name, output_name=output_name, example_weighted=example_weighted)
        computations.append(metric_types.MetricComputation(
            keys=[totals_key], preprocessors=None,
            combiner=self._combiner(totals_key, settings)))

        def key(metric_name, sub_key, model_name=model_name, output_name=output_name):
          extra = {} if self._PLOT else {'aggregation_type': aggregation_type}
          return key_type(name=metric_name, model_name=model_name, output_name=output_name,
                          sub_key=sub_key, example_weighted=example_weighted, **extra)

        def result(metrics: Dict[metric_types.MetricKey, Any], totals_key=totals_key,
                   key=key) -> Dict[metric_types.MetricKey, Any]:
          values = self._values(metrics[totals_key], class_ids)
          return {key(name, sub_key): value for sub_key, value in zip(sub_keys, values)}

        computations.append(metric_types.DerivedMetricComputation(
            keys=[key(name, k) for k in sub_keys], result=result))
    return computations


def _floats(values: np.ndarray) -> List[float]:
  return [float(v) for v in values]


class GenreAUCPrecisionRecall(_GenreMetric):
  """TFMA's AUCPrecisionRecall(num_thresholds=auc_thresholds), its default summation."""

  def __init__(self, name: str = 'auc_precision_recall', **settings):
    super().__init__(name, **settings)

  def _values(self, totals, class_ids):
    return _floats(pr_auc.auc_pr(totals['auc_positives'][class_ids],
                                 totals['auc_negatives'][class_ids]))


class GenreCalibration(_GenreMetric):
  """TFMA's Calibration: total prediction / total label (NaN without labels)."""

  def __init__(self, name: str = 'calibration', **settings):
    super().__init__(name, **settings)

  def _values(self, totals, class_ids):
    return _floats(_ratio_unless_close_to_zero(totals['predictions'][class_ids],
                                               totals['labels'][class_ids]))


class GenreConfusionMatrixPlot(_GenreMetric):
  """TFMA's ConfusionMatrixPlot(num_thresholds=plot_thresholds)."""
  _PLOT = True

  def __init__(self, name: str = 'confusion_matrix_plot', **settings):
    super().__init__(name, **settings)

  def _values(self, totals, class_ids):
    ts = pr_auc.plot_thresholds(self.kwargs['plot_thresholds'])
    counts = pr_auc.confusion_counts(totals['plot_positives'][class_ids],
                                     totals['plot_negatives'][class_ids], thresholds=ts)
    # TFMA's own proto (precision 1 and recall 0 where undefined, rounded thresholds).
    return [binary_confusion_matrices.Matrices(
        thresholds=list(ts), tp=list(counts.tp[i]), tn=list(counts.tn[i]),
        fp=list(counts.fp[i]), fn=list(counts.fn[i])).to_proto().confusion_matrix_at_thresholds
            for i in range(len(class_ids))]


class GenreCalibrationPlot(_GenreMetric):
  """TFMA's CalibrationPlot(num_buckets=calibration_buckets) on [0, 1]."""
  _PLOT = True

  def __init__(self, name: str = 'calibration_plot', **settings):
    super().__init__(name, **settings)

  def _values(self, totals, class_ids):
    num_buckets = self.kwargs['calibration_buckets']
    edges = list(pr_auc.calibration_plot_thresholds(num_buckets))
    plots = []
    for i in class_ids:
      histogram = [calibration_histogram.Bucket(
          bucket_id=j, weighted_labels=float(totals['calibration_labels'][i, j]),
          weighted_predictions=float(totals['calibration_predictions'][i, j]),
          weighted_examples=float(totals['calibration_examples'][i, j]))
                   for j in range(num_buckets + 2)]
      # TFMA's own proto layout (bucket edges, open ends), on the same histogram.
      plots.append(calibration_plot._to_proto(edges, histogram))  # pylint: disable=protected-access
    return plots


class GenreChanceLevel(_GenreMetric):
  """The push gate's chance level of each genre: the `confidence` quantile of the AUC-PR that
  random scores get for the positives and examples counted here
  (components/evaluator/genre_judging.py; NaN for a genre with no positive)."""

  def __init__(self, name: str = CHANCE_LEVEL_NAME, confidence: float = 0.99, **settings):
    super().__init__(name, confidence=confidence, **settings)

  def _levels(self, totals, class_ids) -> np.ndarray:
    levels = []
    for i in class_ids:
      positives = int(round(totals['labels'][i]))
      examples = int(round(totals['examples'][i]))
      levels.append(genre_judging.chance_level(
          positives, examples, self.kwargs['confidence'], self.kwargs['auc_thresholds'])
                    if positives else math.nan)
    return np.array(levels)

  def _values(self, totals, class_ids):
    return _floats(self._levels(totals, class_ids))


class GenreAPOverChance(GenreChanceLevel):
  """The push gate's chance criterion: each genre's AUC-PR less its chance level (above 0
  when the model ranks the genre better than random scores do, at the confidence)."""

  def __init__(self, name: str = AP_OVER_CHANCE_NAME, **settings):
    super().__init__(name, **settings)

  def _values(self, totals, class_ids):
    ap = pr_auc.auc_pr(totals['auc_positives'][class_ids], totals['auc_negatives'][class_ids])
    return _floats(ap - self._levels(totals, class_ids))


class _GenreDecisionMetric(_GenreMetric):
  """A confusion-matrix metric of the decisions at `DECISION_THRESHOLD`."""
  _DECISIONS = True

  def _values(self, totals, class_ids):
    tp, fp, fn = (totals[n][class_ids] for n in ('tp', 'fp', 'fn'))
    return _floats(self._ratio(tp, fp, fn))

  def _ratio(self, tp, fp, fn):
    raise NotImplementedError


class GenrePrecision(_GenreDecisionMetric):
  """TFMA's Precision at its default threshold, 0.5."""

  def __init__(self, name: str = 'precision'):
    super().__init__(name)

  def _ratio(self, tp, fp, fn):
    return _divide(tp, tp + fp)


class GenreRecall(_GenreDecisionMetric):
  """TFMA's Recall at its default threshold, 0.5."""

  def __init__(self, name: str = 'recall'):
    super().__init__(name)

  def _ratio(self, tp, fp, fn):
    return _divide(tp, tp + fn)


class GenreF1Score(_GenreDecisionMetric):
  """TFMA's F1Score at its default threshold, 0.5."""

  def __init__(self, name: str = 'f1_score'):
    super().__init__(name)

  def _ratio(self, tp, fp, fn):
    return _divide(2 * tp, 2 * tp + fp + fn)


for _cls in (GenreAUCPrecisionRecall, GenreCalibration, GenreConfusionMatrixPlot,
             GenreCalibrationPlot, GenrePrecision, GenreRecall,
             GenreF1Score, GenreChanceLevel, GenreAPOverChance):
  metric_types.register_metric(_cls)

# The built-in each member replaces, by TFMA class name.
REPLACES = {
    'AUCPrecisionRecall': GenreAUCPrecisionRecall,
    'Calibration': GenreCalibration,
    'ConfusionMatrixPlot': GenreConfusionMatrixPlot,
    'CalibrationPlot': GenreCalibrationPlot,
    'Precision': GenrePrecision,
    'Recall': GenreRecall,
    'F1Score': GenreF1Score,
}
_DECISION_MEMBERS = (GenrePrecision, GenreRecall, GenreF1Score)


def metric_config(member: str, resolution: Resolution,
                  threshold: Optional[config_pb2.MetricThreshold] = None,
                  **member_settings) -> config_pb2.MetricConfig:
  """The MetricConfig of a member: the one replacing the built-in `member` (a key of
  `REPLACES`: its keys are the built-in's, so thresholds apply unchanged), or a member by its
  class name (the gate's chance members, with their `confidence`), with `threshold` if
  given. Every member on the scores output carries `resolution`, so that they share a
  combiner."""
  cls = REPLACES.get(member) or metric_types.registered_metrics()[member]
  config = config_pb2.MetricConfig(class_name=cls.__name__, module=__name__)
  if cls not in _DECISION_MEMBERS:
    config.config = json.dumps({**resolution.config(), **member_settings}, sort_keys=True)
  if threshold is not None:
    config.threshold.CopyFrom(threshold)
  return config
