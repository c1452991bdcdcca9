"""DataGate: the data contract's verdict, between validation and everything expensive.

ExampleValidator compares this run's statistics with the committed schema; TFDV's drift
comparators (declared in the same schema) compare them with the statistics of the last run
whose data passed. Any anomaly fails this component, so Transform, the oversampler and the
Trainer never start on data that break the contract; `allow_anomalies` is the explicit
opt-out, which still records every finding.

Outputs:
  drift: ExampleAnomalies with the drift anomalies per split (ExampleValidator's layout) and
    `data_gate.json`: every finding and the drift distances TFDV measured.

Drift is measured against the statistics of the last run whose data passed, which the gate
keeps in `accepted_statistics_dir` (a directory of the pipeline root). Keeping them there,
rather than resolving the last accepted artifact from ML Metadata, keeps the compiled
pipeline free of resolver executors, which open-source Kubeflow Pipelines cannot run.
"""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.data_gate import executor


class DataGateSpec(ComponentSpec):
  PARAMETERS = {executor.ALLOW_ANOMALIES_KEY: ExecutionParameter(type=int),
                executor.ACCEPTED_STATISTICS_DIR_KEY: ExecutionParameter(type=str)}
  INPUTS = {
      executor.STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
      executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
      executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
  }
  OUTPUTS = {
      executor.DRIFT_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
  }


class DataGate(base_component.BaseComponent):
  """Statistics + schema anomalies (+ accepted statistics) -> pass, or a failed run."""

  SPEC_CLASS = DataGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel,
               anomalies: types.BaseChannel,
               accepted_statistics_dir: str, allow_anomalies: bool = False):
    super().__init__(spec=DataGateSpec(
        statistics=statistics, schema=schema, anomalies=anomalies,
        accepted_statistics_dir=accepted_statistics_dir, allow_anomalies=int(allow_anomalies),
        drift=types.Channel(type=standard_artifacts.ExampleAnomalies)))
