"""Executor of DataGate: reads ExampleValidator's verdict, measures drift, stops bad data."""
import json
import os
from typing import Any, Dict, List, Optional

from absl import logging
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.utils import anomalies_util
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.data_gate import findings as data_findings

STATISTICS_KEY = 'statistics'
SCHEMA_KEY = 'schema'
ANOMALIES_KEY = 'anomalies'
BASELINE_STATISTICS_KEY = 'baseline_statistics'
ALLOW_ANOMALIES_KEY = 'allow_anomalies'
DRIFT_KEY = 'drift'
ACCEPTED_STATISTICS_KEY = 'accepted_statistics'

# ExampleValidator's file name for one split's Anomalies proto; the drift output uses the same
# layout, so TFX's tools read both alike.
ANOMALIES_FILE = 'SchemaDiff.pb'
VERDICT_FILE = 'data_gate.json'


class DataContractViolation(RuntimeError):
  """The data break the committed schema or drifted beyond its thresholds."""


def violation_in(error: Optional[BaseException]) -> Optional[DataContractViolation]:
  """The DataContractViolation that `error` was raised from (orchestrators wrap an
  executor's exception), or None."""
  while error is not None and not isinstance(error, DataContractViolation):
    error = error.__cause__ or error.__context__
  return error


def read_verdict(drift_uri: str) -> dict:
  """The `data_gate.json` record in a DataGate's `drift` output."""
  with tf.io.gfile.GFile(os.path.join(drift_uri, VERDICT_FILE)) as f:
    return json.load(f)


def _copy_tree(source: str, destination: str) -> None:
  for directory, _, files in tf.io.gfile.walk(source):
    target = os.path.join(destination, os.path.relpath(directory, source))
    tf.io.gfile.makedirs(target)
    for name in files:
      tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name),
                       overwrite=True)


class Executor(base_executor.BaseExecutor):
  """Fails the execution (so nothing downstream runs) unless the data keep the contract."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    statistics = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
    anomalies = artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY])
    baseline = (input_dict.get(BASELINE_STATISTICS_KEY) or [None])[0]
    schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(
        artifact_utils.get_single_uri(input_dict[SCHEMA_KEY])))
    drift = artifact_utils.get_single_instance(output_dict[DRIFT_KEY])
    accepted = artifact_utils.get_single_instance(output_dict[ACCEPTED_STATISTICS_KEY])
    allowed = bool(exec_properties.get(ALLOW_ANOMALIES_KEY))

    splits = artifact_utils.decode_split_names(statistics.split_names)
    baseline_splits = (set(artifact_utils.decode_split_names(baseline.split_names))
                       if baseline is not None else set())
    drift.split_names = artifact_utils.encode_split_names(
        [split for split in splits if split in baseline_splits])
    found, distances = [], {}
    for split in splits:
      schema_anomalies = anomalies_util.load_anomalies_binary(os.path.join(
          artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE))
      found.extend(data_findings.findings_of(split, schema_anomalies))
      if split not in baseline_splits:
        logging.info('No baseline statistics for split %s: drift not measured (first run).',
                     split)
        continue
      compared = tfdv.validate_statistics(
          stats_artifact_utils.load_statistics(statistics, split).proto(), schema,
          previous_statistics=stats_artifact_utils.load_statistics(baseline, split).proto())
      drift_anomalies = data_findings.drift_only(compared)
      found.extend(data_findings.findings_of(split, drift_anomalies))
      distances[split] = data_findings.drift_distances(compared)
      split_dir = artifact_utils.get_split_uri([drift], split)
      tf.io.gfile.makedirs(split_dir)
      with tf.io.gfile.GFile(os.path.join(split_dir, ANOMALIES_FILE), 'wb') as f:
        f.write(drift_anomalies.SerializeToString())

    verdict = data_findings.as_json(found, distances, allowed)
    tf.io.gfile.makedirs(drift.uri)
    with tf.io.gfile.GFile(os.path.join(drift.uri, VERDICT_FILE), 'w') as f:
      json.dump(verdict, f, indent=2)
    drift.set_int_custom_property('anomaly_count', len(found))
    drift.set_int_custom_property('passed', int(verdict['passed']))
    lines = data_findings.verdict_lines(found, allowed)
    for line in lines:
      (logging.warning if found else logging.info)('%s', line)
    if not verdict['passed']:
      raise DataContractViolation('\n'.join(lines))
    # Only data that passed become the next run's drift baseline.
    _copy_tree(statistics.uri, accepted.uri)
    accepted.split_names = statistics.split_names
    accepted.span = statistics.span
