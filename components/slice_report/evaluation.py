"""Reads an Evaluator's output (TFMA metrics, plots, validation) into plain Python values.

Everything the report shows about model quality comes from here, unchanged: the report
formats TFMA's numbers, it never recomputes them. Metric names are TFMA's
(`auc_precision_recall`, `f1_score`, ...); see components/evaluator/eval_config.py for what each is
computed on. When the Evaluator had a baseline model, every metric carries the baseline's
value and TFMA's change (candidate - baseline) too.
"""
import dataclasses
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_specs
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.writers import eval_config_writer

from components.evaluator import executor as gate_executor
from components.evaluator import genre_metrics

EVAL_CONFIG_FILE = 'eval_config.json'
CANDIDATE, BASELINE = 'candidate', 'baseline'

EXAMPLE_COUNT = 'example_count'
# Per-genre and macro metrics, in the order the report shows them.
GENRE_METRICS = ('precision', 'recall', 'f1_score', 'auc_precision_recall', 'calibration')
METRIC_LABELS = {'example_count': 'posters', 'precision': 'precision', 'recall': 'recall',
                 'f1_score': 'F1', 'auc_precision_recall': 'AP (AUC-PR)',
                 'calibration': 'calibration'}
OVERALL = 'Overall'


@dataclasses.dataclass(frozen=True)
class Value:
  """One metric: the candidate's value and, with a baseline, the baseline's and the change."""
  candidate: float
  baseline: Optional[float] = None
  change: Optional[float] = None


@dataclasses.dataclass
class SliceResult:
  """The metrics of one slice: `features` is ((feature, value), ...), empty for overall."""
  features: Tuple[Tuple[str, str], ...]
  example_count: Optional[Value] = None
  macro: Dict[str, Value] = dataclasses.field(default_factory=dict)
  per_genre: Dict[str, Dict[str, Value]] = dataclasses.field(default_factory=dict)

  @property
  def name(self) -> str:
    return ' × '.join(f'{k} = {v}' for k, v in self.features) or OVERALL

  def defined_macro(self, name: str) -> Tuple[Optional[Value], List[str]]:
    """TFMA's macro average of `name` and the genres it leaves out: none, when it is
    defined. TFMA's average is undefined (NaN) as soon as one genre's value is, e.g. the
    precision of a genre the model predicts for no poster; the mean over the genres whose
    value is defined is given instead, with the genres it leaves out."""
    value = self.macro.get(name)
    if value is not None and not math.isnan(value.candidate):
      return value, []
    per_genre = {genre: values[name] for genre, values in self.per_genre.items()
                 if name in values}
    if not per_genre:
      return value, []
    defined = {g: v for g, v in per_genre.items() if not math.isnan(v.candidate)}
    left_out = sorted(set(per_genre) - set(defined))
    if not defined:
      return value, left_out
    candidate = sum(v.candidate for v in defined.values()) / len(defined)
    baselines = [v.baseline for v in defined.values()]
    baseline = (sum(baselines) / len(baselines)
                if all(b is not None and not math.isnan(b) for b in baselines) else None)
    return Value(candidate, baseline,
                 candidate - baseline if baseline is not None else None), left_out


@dataclasses.dataclass(frozen=True)
class CurvePoint:
  threshold: float
  precision: float
  recall: float


@dataclasses.dataclass(frozen=True)
class CalibrationBucket:
  lower: float
  upper: float
  examples: float
  total_label: float
  total_prediction: float


# The gate's criteria, as a check names what refused a model.
FLOOR, NO_DROP = 'floor', 'drop'
MACRO_SUBJECT = 'macro average'
GATED_METRIC_NAME = 'auc_precision_recall'


@dataclasses.dataclass(frozen=True)
class GateCheck:
  """One gated metric: a genre's AUC-PR, or the macro average's, and how it fared."""
  subject: str  # a genre, or MACRO_SUBJECT
  metric: str
  candidate: float
  baseline: Optional[float]  # None on the first run: no blessed model to compare with
  floor: Optional[float]  # the value the candidate must reach (a genre's: its chance level)
  allowed_drop: Optional[float]  # how far below the baseline the candidate may fall
  refused_by: Tuple[str, ...]  # FLOOR and/or NO_DROP when this check refused the model

  @property
  def change(self) -> Optional[float]:
    return None if self.baseline is None else self.candidate - self.baseline


@dataclasses.dataclass(frozen=True)
class Unjudged:
  """A genre the gate does not judge, and why (components/evaluator/genre_judging.py)."""
  genre: str
  eval_positives: int
  served_pr_auc: Optional[float]
  reason: str


@dataclasses.dataclass(frozen=True)
class Gate:
  """The push gate's decision, from the gating Evaluator's validation result."""
  blessed: bool
  checks: List[GateCheck]
  # Nothing served to compare with yet: TFX drops the change criteria, only floors apply.
  first_model: bool
  unjudged: List[Unjudged] = dataclasses.field(default_factory=list)
  # Genres the served model knows and the candidate does not: never compared.
  served_only: List[str] = dataclasses.field(default_factory=list)

  @property
  def refusals(self) -> List[GateCheck]:
    return [check for check in self.checks if check.refused_by]


@dataclasses.dataclass
class Evaluation:
  uri: str
  model_location: str
  baseline_location: Optional[str]
  slices: List[SliceResult]
  # Overall-slice plots of the candidate, per genre.
  pr_curves: Dict[str, List[CurvePoint]]
  calibration: Dict[str, List[CalibrationBucket]]

  @property
  def has_baseline(self) -> bool:
    return self.baseline_location is not None

  @property
  def overall(self) -> SliceResult:
    for result in self.slices:
      if not result.features:
        return result
    raise ValueError(f'No overall slice in {self.uri}.')


def read_eval_config(uri: str) -> dict:
  """TFMA's eval_config.json: the EvalConfig plus the model locations it evaluated."""
  path = os.path.join(uri, EVAL_CONFIG_FILE)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'{uri} is not a TFMA evaluation: no {EVAL_CONFIG_FILE}.')
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def model_locations(uri: str) -> Tuple[str, Optional[str]]:
  """(candidate model path, baseline model path or None) of an evaluation."""
  locations = read_eval_config(uri)['modelLocations']
  candidate = locations.get(CANDIDATE, locations.get(''))
  if candidate is None:
    raise ValueError(f'No candidate model among {sorted(locations)} in {uri}.')
  return candidate, locations.get(BASELINE)


def load_candidate_result(uri: str) -> tfma.EvalResult:
  """TFMA's EvalResult of the evaluated model, for TFMA's notebook views.

  With a baseline, an evaluation holds two models, 'candidate' and 'baseline', and
  `tfma.load_eval_result` finds no plots unless it is given the candidate's name; without
  one, the only model has no name."""
  locations = read_eval_config(uri)['modelLocations']
  return tfma.load_eval_result(uri, model_name=CANDIDATE if CANDIDATE in locations else None)


def _slice_features(slice_key) -> Tuple[Tuple[str, str], ...]:
  features = []
  for single in slice_key.single_slice_keys:
    kind = single.WhichOneof('kind')
    value = getattr(single, kind)
    features.append((single.column, value.decode() if isinstance(value, bytes) else str(value)))
  return tuple(features)


def _number(value) -> float:
  if value.WhichOneof('type') != 'double_value':
    raise ValueError(f'Expected a scalar metric, got {value}.')
  return value.double_value.value


def _metric_slot(key, genres: Sequence[str]) -> Tuple[str, Optional[str]]:
  """(metric name, genre or None for macro / slice-wide metrics)."""
  if key.sub_key.HasField('class_id'):
    return key.name, genres[key.sub_key.class_id.value]
  return key.name, None


def _is_candidate(key) -> bool:
  return key.model_name in ('', CANDIDATE)


def _read_slices(uri: str, genres: Sequence[str]) -> List[SliceResult]:
  slices = []
  for metrics in tfma.load_metrics(uri):
    raw: Dict[Tuple[str, Optional[str]], Dict[str, float]] = {}
    for entry in metrics.metric_keys_and_values:
      key = entry.key
      role = 'change' if key.is_diff else (
          'candidate' if _is_candidate(key) else 'baseline')
      raw.setdefault(_metric_slot(key, genres), {})[role] = _number(entry.value)
    result = SliceResult(features=_slice_features(metrics.slice_key))
    for (name, genre), values in raw.items():
      if 'candidate' not in values:
        continue
      value = Value(**values)
      if genre is not None:
        result.per_genre.setdefault(genre, {})[name] = value
      elif name == EXAMPLE_COUNT:
        result.example_count = value
      else:
        result.macro[name] = value
    slices.append(result)
  return slices


def _read_overall_plots(uri: str, genres: Sequence[str]):
  pr_curves, calibration = {}, {}
  for plots in tfma.load_plots(uri):
    if _slice_features(plots.slice_key):
      continue
    for entry in plots.plot_keys_and_values:
      key = entry.key
      if not _is_candidate(key) or not key.sub_key.HasField('class_id'):
        continue
      genre = genres[key.sub_key.class_id.value]
      value = entry.value
      if value.HasField('confusion_matrix_at_thresholds'):
        pr_curves[genre] = [
            CurvePoint(threshold=m.threshold, precision=m.precision, recall=m.recall)
            for m in value.confusion_matrix_at_thresholds.matrices]
      if value.HasField('calibration_histogram_buckets'):
        calibration[genre] = [
            CalibrationBucket(
                lower=max(b.lower_threshold_inclusive, 0.0),
                upper=min(b.upper_threshold_exclusive, 1.0),
                examples=b.num_weighted_examples.value,
                total_label=b.total_weighted_label.value,
                total_prediction=b.total_weighted_refined_prediction.value)
            for b in value.calibration_histogram_buckets.buckets
            if b.num_weighted_examples.value > 0]
  return pr_curves, calibration


def load_evaluation(uri: str, genres: Sequence[str]) -> Evaluation:
  """Every slice's metrics and the overall plots of the evaluation at `uri`.

  `genres`: the vocabulary, in class-id order (the Examples artifact's genre_vocabulary.txt).
  """
  candidate, baseline = model_locations(uri)
  # TFMA knows the baseline by the copy it evaluated; the Evaluator records the version of
  # the serving directory it was copied from.
  judgement_path = os.path.join(uri, gate_executor.GATE_FILE)
  if baseline is not None and tf.io.gfile.exists(judgement_path):
    with tf.io.gfile.GFile(judgement_path) as f:
      baseline = json.load(f).get('served_model') or baseline
  pr_curves, calibration = _read_overall_plots(uri, genres)
  return Evaluation(uri=uri, model_location=candidate, baseline_location=baseline,
                    slices=_read_slices(uri, genres), pr_curves=pr_curves,
                    calibration=calibration)


def _number_or_nan(value) -> float:
  return value.double_value.value if value.HasField('double_value') else math.nan


def load_gate(uri: str, genres: Sequence[str]) -> Gate:
  """The gating Evaluator's decision (blessed iff its validation passed, as in TFX) and every
  check behind it, one per judged genre and one for the macro average, on the overall slice:
  the candidate's and the served model's AUC-PR, the floor (a genre's: its chance level), the
  allowed drop, and which criterion refused the model; and the genres not judged, and why
  (the Evaluator's genre_gate.json).

  `genres`: the vocabulary, in class-id order, to name per-genre checks.
  """
  eval_config = eval_config_writer.load_eval_run(uri)[0]
  thresholds = metric_specs.metric_thresholds_from_metrics_specs(
      eval_config.metrics_specs, eval_config=eval_config)
  result = tfma.load_validation_result(uri)
  refused: Dict[metric_types.MetricKey, List[str]] = {}
  for per_slice in result.metric_validations_per_slice:
    for failure in per_slice.failures:
      criterion = FLOOR if failure.metric_threshold.HasField('value_threshold') else NO_DROP
      key = metric_types.MetricKey.from_proto(failure.metric_key)
      refused.setdefault(key._replace(is_diff=False), []).append(criterion)
  values: Dict[metric_types.MetricKey, float] = {}
  for metrics in tfma.load_metrics(uri):
    if not _slice_features(metrics.slice_key):
      values.update({metric_types.MetricKey.from_proto(entry.key): _number_or_nan(entry.value)
                     for entry in metrics.metric_keys_and_values})
  # TFX names a baseline model in the evaluated config only when one was resolved.
  baseline_name = next((spec.name for spec in eval_config.model_specs if spec.is_baseline),
                       None)

  checks: Dict[str, Dict] = {}
  for key, key_thresholds in thresholds.items():
    if baseline_name is not None and key.model_name == baseline_name:
      continue
    own = key._replace(is_diff=False)
    # Every check is shown on AUC-PR; the chance criterion is its own metric, AUC-PR minus
    # the chance level, so its floor is shown as the chance level.
    ap = own._replace(name=GATED_METRIC_NAME)
    subject = (genres[own.sub_key.class_id] if own.sub_key and own.sub_key.class_id is not None
               else MACRO_SUBJECT)
    check = checks.setdefault(subject, dict(
        subject=subject, metric=GATED_METRIC_NAME, candidate=values.get(ap, math.nan),
        baseline=(values.get(ap._replace(model_name=baseline_name))
                  if baseline_name is not None else None),
        floor=None, allowed_drop=None, refused_by=()))
    check['refused_by'] = tuple(sorted(set(check['refused_by']) | set(refused.get(own, []))))
    for _, threshold in key_thresholds:
      if isinstance(threshold, tfma.GenericChangeThreshold):
        check['allowed_drop'] = round(-threshold.absolute.value, 9)
      elif own.name == genre_metrics.AP_OVER_CHANCE_NAME:
        check['floor'] = values.get(own._replace(name=genre_metrics.CHANCE_LEVEL_NAME),
                                    math.nan)
      else:
        check['floor'] = threshold.lower_bound.value
  ordered = sorted(checks.values(), key=lambda c: (c['subject'] != MACRO_SUBJECT,
                                                   c['subject']))
  unjudged, served_only = [], []
  judgement_path = os.path.join(uri, gate_executor.GATE_FILE)
  if tf.io.gfile.exists(judgement_path):
    with tf.io.gfile.GFile(judgement_path) as f:
      judgements = json.load(f)
    unjudged = [Unjudged(genre=g['genre'], eval_positives=g['eval_positives'],
                         served_pr_auc=g['served_pr_auc'], reason=g['reason'])
                for g in judgements['genres'] if not g['judged']]
    served_only = judgements['not_comparable']['served_only']
  return Gate(blessed=result.validation_ok, checks=[GateCheck(**c) for c in ordered],
              first_model=baseline_name is None, unjudged=unjudged, served_only=served_only)


def _by_reason(unjudged: Sequence[Unjudged]) -> List[Tuple[str, List[str]]]:
  """The unjudged genres grouped by why, the reasons in order of first appearance."""
  groups: Dict[str, List[str]] = {}
  for genre in unjudged:
    groups.setdefault(genre.reason, []).append(genre.genre)
  return list(groups.items())


def gate_lines(gate: Gate) -> List[str]:
  """The gate's verdict as plain text: what the local runner prints after a run."""
  judged = [c.subject for c in gate.checks if c.subject != MACRO_SUBJECT]
  lines = [f"Push gate (Evaluator on eval): {'BLESSED' if gate.blessed else 'NOT BLESSED'}"
           + (' - first model, no baseline: only the floors apply.' if gate.first_model
              else ''),
           f'  judged genres ({len(judged)}): {", ".join(judged) or "none"}',
           *(f'  not judged ({reason}): {", ".join(genres)}'
             for reason, genres in _by_reason(gate.unjudged)),
           *([f'  not compared (the candidate does not know them): '
              f'{", ".join(gate.served_only)}'] if gate.served_only else []),
           f"  {'subject':<16} {'candidate':>9} {'served':>9} {'change':>8} {'floor':>7} "
           f"{'may drop':>8}  verdict"]

  def number(value, width, sign=''):
    return f'{value:{sign}{width}.4f}' if value is not None else f'{"-":>{width}}'

  for check in gate.checks:
    verdict = ('REFUSED: ' + ' and '.join(
        'below its floor' if c == FLOOR else 'dropped beyond the tolerance'
        for c in check.refused_by)) if check.refused_by else 'ok'
    lines.append(f'  {check.subject:<16} {number(check.candidate, 9)} '
                 f'{number(check.baseline, 9)} {number(check.change, 8, "+")} '
                 f'{number(check.floor, 7)} {number(check.allowed_drop, 8)}  {verdict}')
  return lines
