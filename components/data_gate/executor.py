"""Executor of DataGate: reads ExampleValidator's verdict, measures drift, stops bad data."""
import json
import os
import time
from typing import Any, Dict, List, Optional

from absl import logging
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.utils import anomalies_util
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from components import artifact_files
from components.data_gate import findings as data_findings

STATISTICS_KEY = 'statistics'
SCHEMA_KEY = 'schema'
ANOMALIES_KEY = 'anomalies'
ALLOW_ANOMALIES_KEY = 'allow_anomalies'
ACCEPTED_STATISTICS_DIR_KEY = 'accepted_statistics_dir'
DRIFT_KEY = 'drift'
# In the accepted-statistics directory: which copy is the latest accepted one.
LATEST_FILE = 'LATEST.json'

# ExampleValidator's file name for one split's Anomalies proto; the drift output uses the same
# layout, so TFX's tools read both alike.
ANOMALIES_FILE = 'SchemaDiff.pb'
VERDICT_FILE = 'data_gate.json'


class DataContractViolation(RuntimeError):
  """The data break the committed schema or drifted beyond its thresholds."""


def read_verdict(drift_uri: str) -> dict:
  """The `data_gate.json` record in a DataGate's `drift` output."""
  with tf.io.gfile.GFile(os.path.join(drift_uri, VERDICT_FILE)) as f:
    return json.load(f)


def _accepted_statistics(directory: str) -> Optional[Any]:
  """The statistics last accepted into `directory`, as an artifact, or None (first run)."""
  latest = os.path.join(directory, LATEST_FILE)
  if not directory or not tf.io.gfile.exists(latest):
    return None
  with tf.io.gfile.GFile(latest) as f:
    record = json.load(f)
  statistics = standard_artifacts.ExampleStatistics()
  statistics.uri = os.path.join(directory, record['version'])
  statistics.split_names = artifact_utils.encode_split_names(record['splits'])
  return statistics


def _accept(statistics: Any, directory: str, version: str) -> None:
  """Makes `statistics` the next run's drift baseline. The copy goes to a directory of its
  own and LATEST_FILE, written last, points to it: a reader never sees half a copy."""
  artifact_files.copy_tree(statistics.uri, os.path.join(directory, version))
  with tf.io.gfile.GFile(os.path.join(directory, LATEST_FILE), 'w') as f:
    json.dump({'version': version, 'source': statistics.uri,
               'splits': artifact_utils.decode_split_names(statistics.split_names)}, f)


class Executor(base_executor.BaseExecutor):
  """Fails the execution (so nothing downstream runs) unless the data keep the contract."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    statistics = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
    anomalies = artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY])
    accepted_dir = exec_properties[ACCEPTED_STATISTICS_DIR_KEY]
    baseline = _accepted_statistics(accepted_dir)
    schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(
        artifact_utils.get_single_uri(input_dict[SCHEMA_KEY])))
    drift = artifact_utils.get_single_instance(output_dict[DRIFT_KEY])
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
    _accept(statistics, accepted_dir, version=str(int(time.time() * 1000)))
