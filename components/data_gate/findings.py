"""What the data gate found: schema anomalies and drift, as plain records for people.

TFDV reports both as `Anomalies` protos (one per split). This module turns them into
(split, feature, kind, description) findings, keeps the drift measurements that TFDV records
even when they stay under their threshold, and words the verdict. No TFX or Beam here.
"""
import dataclasses
from typing import Dict, Iterable, List, Mapping, Sequence

from tensorflow_metadata.proto.v0 import anomalies_pb2

# Anomaly kinds that compare this run's statistics with the previous run's (TFDV's drift
# comparators); every other kind is a violation of the schema itself.
DRIFT_KINDS = frozenset(name for name in anomalies_pb2.AnomalyInfo.Type.keys()
                        if name.startswith('COMPARATOR_'))
DATASET = '(dataset)'
# Findings named in an error message; all of them are in the gate's output.
MAX_LISTED = 20


@dataclasses.dataclass(frozen=True)
class Finding:
  split: str
  feature: str
  kind: str  # TFDV's AnomalyInfo.Type name, e.g. ENUM_TYPE_UNEXPECTED_STRING_VALUES.
  description: str

  @property
  def is_drift(self) -> bool:
    return self.kind in DRIFT_KINDS

  def line(self) -> str:
    return f'{self.split}/{self.feature}: {self.kind} - {self.description}'


def _reasons(split: str, feature: str, info: anomalies_pb2.AnomalyInfo) -> List[Finding]:
  reasons = list(info.reason) or [anomalies_pb2.AnomalyInfo.Reason(
      type=anomalies_pb2.AnomalyInfo.UNKNOWN_TYPE,
      short_description=info.short_description, description=info.description)]
  return [Finding(split=split, feature=feature,
                  kind=anomalies_pb2.AnomalyInfo.Type.Name(reason.type),
                  description=(f'{reason.short_description}: {reason.description}'
                               if reason.description else reason.short_description))
          for reason in reasons]


def findings_of(split: str, anomalies: anomalies_pb2.Anomalies) -> List[Finding]:
  """Every reason of every anomalous feature (and of the dataset) in one split."""
  found = []
  for feature, info in sorted(anomalies.anomaly_info.items()):
    found.extend(_reasons(split, feature, info))
  if anomalies.HasField('dataset_anomaly_info'):
    found.extend(_reasons(split, DATASET, anomalies.dataset_anomaly_info))
  return found


def drift_only(anomalies: anomalies_pb2.Anomalies) -> anomalies_pb2.Anomalies:
  """`anomalies` without its schema violations: what comparing with the baseline added."""
  result = anomalies_pb2.Anomalies()
  result.CopyFrom(anomalies)
  result.ClearField('dataset_anomaly_info')
  for feature in list(result.anomaly_info):
    info = result.anomaly_info[feature]
    kept = [r for r in info.reason
            if anomalies_pb2.AnomalyInfo.Type.Name(r.type) in DRIFT_KINDS]
    if not kept:
      del result.anomaly_info[feature]
      continue
    del info.reason[:]
    info.reason.extend(kept)
  return result


def drift_distances(anomalies: anomalies_pb2.Anomalies) -> Dict[str, Dict[str, float]]:
  """{feature: {measure: distance}} that TFDV measured against the baseline."""
  distances: Dict[str, Dict[str, float]] = {}
  for info in anomalies.drift_skew_info:
    feature = '.'.join(info.path.step)
    for measurement in info.drift_measurements:
      measure = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(measurement.type).lower()
      distances.setdefault(feature, {})[measure] = round(float(measurement.value), 6)
  return distances


def verdict_lines(found: Sequence[Finding], allowed: bool) -> List[str]:
  """The gate's verdict for a log or a terminal: a count, then the first findings."""
  if not found:
    return ['Data gate: no anomalies against the schema, no drift beyond its thresholds.']
  drift = sum(f.is_drift for f in found)
  head = (f'Data gate: {len(found)} anomalies ({len(found) - drift} against the schema, '
          f'{drift} drift)')
  head += (' - allowed by the explicit opt-out, the run goes on.' if allowed else
           ' - the run stops before Transform and the Trainer. Fix the data, or update the '
           'schema if the change is legitimate (python -m pipeline.schema_candidate), or '
           'rerun with --allow-anomalies to go on anyway.')
  lines = [head] + [f'  {f.line()}' for f in found[:MAX_LISTED]]
  if len(found) > MAX_LISTED:
    lines.append(f'  ... and {len(found) - MAX_LISTED} more in the gate output.')
  return lines


def drift_lines(distances: Mapping[str, Mapping[str, Mapping[str, float]]]) -> List[str]:
  """One line per split: the distance of each compared feature to the last accepted run."""
  if not distances:
    return ['Drift: not measured (no earlier run whose data passed the gate).']
  return [f'Drift vs the last accepted run, {split}: ' + ', '.join(
      f'{feature} {measure.replace("l_infty", "L-inf")} {value:.3f}'
      for feature, measures in sorted(features.items())
      for measure, value in sorted(measures.items()))
          for split, features in sorted(distances.items())]


def summary_lines(verdict: Mapping) -> List[str]:
  """The verdict and the drift of a gate output's `as_json` record, for a terminal."""
  found = [Finding(**finding) for finding in verdict['anomalies']]
  return (verdict_lines(found, verdict['allowed_by_opt_out'])
          + drift_lines(verdict['drift_distances']))


def as_json(found: Iterable[Finding],
            distances: Mapping[str, Mapping[str, Dict[str, float]]], allowed: bool) -> dict:
  found = list(found)
  return {'anomalies': [dataclasses.asdict(f) for f in found],
          'drift_distances': {split: dict(d) for split, d in distances.items()},
          'allowed_by_opt_out': bool(allowed and found),
          'passed': not found or allowed}
