"""DataGate: the data contract's verdict, between validation and everything expensive.

ExampleValidator compares this run's statistics with the committed schema; TFDV's drift
comparators (declared in the same schema) compare them with the statistics of the last run
whose data passed. Any anomaly fails this component, so Transform, the oversampler and the
Trainer never start on data that break the contract; `allow_anomalies` is the explicit
opt-out, which still records every finding.

Outputs:
  drift: ExampleAnomalies with the drift anomalies per split (ExampleValidator's layout) and
    `data_gate.json`: every finding and the drift distances TFDV measured.
  accepted_statistics: a copy of the statistics, published only when the data passed: the
    baseline the next run's drift is measured against.
"""
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.data_gate import executor


class DataGateSpec(ComponentSpec):
  PARAMETERS = {executor.ALLOW_ANOMALIES_KEY: ExecutionParameter(type=int)}
  INPUTS = {
      executor.STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
      executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
      executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
      executor.BASELINE_STATISTICS_KEY: ChannelParameter(
          type=standard_artifacts.ExampleStatistics, optional=True),
  }
  OUTPUTS = {
      executor.DRIFT_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
      executor.ACCEPTED_STATISTICS_KEY: ChannelParameter(
          type=standard_artifacts.ExampleStatistics),
  }


class DataGate(base_component.BaseComponent):
  """Statistics + schema anomalies (+ baseline statistics) -> pass, or a failed run."""

  SPEC_CLASS = DataGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel,
               anomalies: types.BaseChannel,
               baseline_statistics: Optional[types.BaseChannel] = None,
               allow_anomalies: bool = False):
    super().__init__(spec=DataGateSpec(
        statistics=statistics, schema=schema, anomalies=anomalies,
        baseline_statistics=baseline_statistics, allow_anomalies=int(allow_anomalies),
        drift=types.Channel(type=standard_artifacts.ExampleAnomalies),
        accepted_statistics=types.Channel(type=standard_artifacts.ExampleStatistics)))
